import { type RetryPolicy, TransientError, withRetry } from "../concurrency/retry.js";
import { OperatorError } from "../errors.js";
import { type BufferedResponse, httpFetch, requestBuffer } from "../net/http-client.js";
import { type Digest, fetchedManifestDigest } from "../store/digest.js";
import { MANIFEST_MEDIA_TYPES } from "../store/oci-manifest.js";
import { DOWNLOAD_IDLE_MS } from "./http-download.js";
import { type ImageReference, registryBaseUrl } from "./image-reference.js";

/** The distribution spec asks registries to accept manifests of at least 4 MiB; nothing larger is expected. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** A bearer token answer is a few KiB of JSON. */
const MAX_TOKEN_BYTES = 1024 * 1024;

export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: Digest;
}

/**
 * A small client of the OCI distribution API, enough to pull: manifests (verified against the
 * digest asked for or the one the registry names) and blobs as streams. Anonymous bearer
 * tokens are obtained as registries ask for them (docker.io, quay.io, ghcr.io do).
 */
export class RegistryClient {
  private readonly tokens = new Map<string, string>();

  constructor(
    private readonly retry: RetryPolicy,
    private readonly onRetry: (error: Error, attempt: number, delayMs: number) => void = () => {},
  ) {}

  async manifest(image: ImageReference, reference: string): Promise<FetchedManifest> {
    return withRetry(
      this.retry,
      async () => {
        const response = await this.get(image, `manifests/${reference}`, { accept: MANIFEST_MEDIA_TYPES.join(", ") });
        if (Number(response.headers.get("content-length") ?? 0) > MAX_MANIFEST_BYTES) {
          await response.body?.cancel();
          throw new OperatorError(
            `${image.original}: manifest ${reference} is larger than ${MAX_MANIFEST_BYTES} bytes`,
          );
        }
        const bytes = Buffer.from(await response.arrayBuffer());
        const { digest, claimed } = fetchedManifestDigest(
          bytes,
          reference,
          response.headers.get("docker-content-digest"),
        );
        if (claimed && claimed !== digest) {
          throw new OperatorError(
            `${image.original}: manifest ${reference} arrived with digest ${digest}, expected ${claimed}`,
            {
              hint: "the registry or something between served altered content",
            },
          );
        }
        let declared: string | undefined;
        try {
          declared = (JSON.parse(bytes.toString("utf8")) as { mediaType?: string }).mediaType;
        } catch {
          throw new OperatorError(`${image.original}: manifest ${reference} is not JSON`, {
            hint: "the registry answered with something that is not an image manifest",
          });
        }
        const header = (response.headers.get("content-type") ?? "").split(";")[0]!.trim();
        const mediaType = MANIFEST_MEDIA_TYPES.includes(header) ? header : (declared ?? header);
        return { bytes, mediaType, digest };
      },
      this.onRetry,
    );
  }

  /** A request for a blob, authenticated as the registry asks; any status is returned for the caller to judge. */
  blobRequest(
    image: ImageReference,
    digest: Digest,
  ): (headers: Record<string, string>, signal: AbortSignal) => Promise<Response> {
    return async (headers, signal) => {
      const response = await this.send(image, `blobs/${digest}`, headers, signal);
      if (response.status === 404) {
        await response.body?.cancel();
        throw new OperatorError(`${image.original}: blob ${digest} not found in ${image.apiHost}/${image.path}`, {
          hint: "the registry lost the blob or the image was deleted; check it there",
        });
      }
      return response;
    };
  }

  private async get(image: ImageReference, suffix: string, headers: Record<string, string>): Promise<Response> {
    const url = `${registryBaseUrl(image.apiHost)}/v2/${image.path}/${suffix}`;
    const response = await this.send(image, suffix, headers);
    if (response.ok) return response;
    await response.body?.cancel();
    if (response.status === 429 || response.status >= 500) {
      throw new TransientError(`${image.original}: HTTP ${response.status} from ${url}`);
    }
    if (response.status === 404) {
      throw new OperatorError(
        `${image.original}: not found (${suffix.split("/")[0]} ${suffix.split("/")[1]}) at ${url}`,
        {
          hint: "check the image name and tag in artifacts.images",
        },
      );
    }
    throw new OperatorError(`${image.original}: HTTP ${response.status} from ${url}`, {
      hint:
        response.status === 401 || response.status === 403
          ? "the registry wants credentials; airstrap pulls anonymously"
          : "check the registry",
    });
  }

  /** GET with the bearer token for the repository, fetching one when the registry challenges. */
  private async send(
    image: ImageReference,
    suffix: string,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<Response> {
    const url = `${registryBaseUrl(image.apiHost)}/v2/${image.path}/${suffix}`;
    const scope = `repository:${image.path}:pull`;
    const attempt = async () => {
      const token = this.tokens.get(`${image.apiHost} ${scope}`);
      try {
        return await httpFetch(url, {
          headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
          ...(signal ? { signal } : {}),
          idleTimeoutMs: DOWNLOAD_IDLE_MS,
        });
      } catch (error) {
        throw new TransientError(`${image.original}: ${url}: ${(error as Error).message}`, { cause: error });
      }
    };
    let response = await attempt();
    if (response.status === 401) {
      const challenge = response.headers.get("www-authenticate") ?? "";
      await response.body?.cancel();
      await this.authenticate(image, scope, challenge);
      response = await attempt();
    }
    return response;
  }

  private async authenticate(image: ImageReference, scope: string, challenge: string): Promise<void> {
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    if (!/^Bearer /i.test(challenge) || !params.realm) {
      throw new OperatorError(`${image.original}: the registry asks for credentials (${challenge || "no challenge"})`, {
        hint: "airstrap pulls anonymously; copy the image into a registry it can read",
      });
    }
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set("service", params.service);
    url.searchParams.set("scope", scope);
    let response: BufferedResponse;
    try {
      response = await requestBuffer(url, { maxBodyBytes: MAX_TOKEN_BYTES });
    } catch (error) {
      if (error instanceof OperatorError) throw error;
      throw new TransientError(`${image.original}: token from ${url.origin}: ${(error as Error).message}`);
    }
    if (response.status < 200 || response.status >= 300) {
      throw new OperatorError(`${image.original}: token request to ${url.origin} failed (HTTP ${response.status})`);
    }
    let body: { token?: string; access_token?: string };
    try {
      body = JSON.parse(response.body.toString("utf8")) as typeof body;
    } catch {
      throw new OperatorError(`${image.original}: token response from ${url.origin} is not JSON`);
    }
    const token = body.token ?? body.access_token;
    if (!token) throw new OperatorError(`${image.original}: token response from ${url.origin} holds no token`);
    this.tokens.set(`${image.apiHost} ${scope}`, token);
  }
}
