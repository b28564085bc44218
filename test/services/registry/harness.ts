import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentEvents } from "../../../src/events.js";
import { DEFAULT_MAX_MANIFEST_BYTES, type RegistryConfig } from "../../../src/services/registry/config.js";
import { type RunningRegistry, startRegistry } from "../../../src/services/registry/service.js";
import { type Digest, type DigestAlgorithm, digestOf } from "../../../src/store/digest.js";

export type TestContext = { after(fn: () => unknown): void };

export const sha = (data: string | Uint8Array): Digest => digestOf(data, "sha256");
export const sha512 = (data: string | Uint8Array): Digest => digestOf(data, "sha512");

export async function tempDir(t: TestContext, label = "registry"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `airstrap-${label}-`));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export function registryConfig(root: string, overrides: Partial<RegistryConfig> = {}): RegistryConfig {
  return {
    root,
    listen: ["127.0.0.1:0"],
    auth: { anonymousPullNetworks: [] },
    upstreams: [],
    peers: [],
    maxManifestBytes: DEFAULT_MAX_MANIFEST_BYTES,
    ...overrides,
  };
}

/** A registry on loopback over a fresh store, closed when the test ends. */
export async function testRegistry(t: TestContext, overrides: Partial<RegistryConfig> = {}) {
  const root = overrides.root ?? (await tempDir(t));
  const registry = await startRegistry(registryConfig(root, overrides), silentEvents);
  t.after(() => registry.close());
  return { registry, root, base: baseUrl(registry) };
}

export function baseUrl(registry: RunningRegistry): string {
  return `http://${registry.addresses[0]}`;
}

/** fetch against the registry; relative Location headers resolve against `base`. */
export function client(base: string, defaults: Record<string, string> = {}) {
  return (path: string, init: RequestInit = {}) =>
    fetch(new URL(path, base), { ...init, headers: { ...defaults, ...(init.headers as Record<string, string>) } });
}

export type Client = ReturnType<typeof client>;

export async function pushBlob(
  http: Client,
  repo: string,
  content: Uint8Array | string,
  algorithm: DigestAlgorithm = "sha256",
): Promise<Digest> {
  const digest = digestOf(content, algorithm);
  const res = await http(`/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: "POST",
    body: typeof content === "string" ? content : Buffer.from(content),
    headers: { "Content-Type": "application/octet-stream" },
  });
  if (res.status !== 201) throw new Error(`blob push: ${res.status} ${await res.text()}`);
  return digest;
}

export function imageManifest(
  config: { digest: Digest; size: number },
  layers: { digest: Digest; size: number }[],
  extra: object = {},
) {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
    layers: layers.map((layer) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar", ...layer })),
    ...extra,
  });
}

/**
 * Pushes a one-layer image and returns its manifest and digests. With sha512, every blob is pushed
 * as sha512 and the manifest by its sha512 digest with `?tag=` (a push by tag names it sha256).
 */
export async function pushImage(
  http: Client,
  repo: string,
  tag: string,
  layer = `layer of ${repo}:${tag}`,
  extra: object = {},
  algorithm: DigestAlgorithm = "sha256",
) {
  const configText = JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } });
  const config = { digest: await pushBlob(http, repo, configText, algorithm), size: Buffer.byteLength(configText) };
  const layerDesc = { digest: await pushBlob(http, repo, layer, algorithm), size: Buffer.byteLength(layer) };
  const manifest = imageManifest(config, [layerDesc], extra);
  const digest = digestOf(manifest, algorithm);
  const path = algorithm === "sha256" ? `/v2/${repo}/manifests/${tag}` : `/v2/${repo}/manifests/${digest}?tag=${tag}`;
  const res = await http(path, {
    method: "PUT",
    body: manifest,
    headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
  });
  if (res.status !== 201) throw new Error(`manifest push: ${res.status} ${await res.text()}`);
  return { manifest, digest, config, layer: layerDesc };
}

export async function errorCode(res: Response): Promise<string | undefined> {
  const body = (await res.json()) as { errors?: { code: string }[] };
  return body.errors?.[0]?.code;
}
