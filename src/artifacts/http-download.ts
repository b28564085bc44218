import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, rm, stat, truncate } from "node:fs/promises";
import { type RetryPolicy, TransientError, withRetry } from "../concurrency/retry.js";
import { OperatorError } from "../errors.js";
import { httpFetch } from "../net/http-client.js";
import { createDigester, type Digest, type DigestAlgorithm, digestFromHash } from "../store/digest.js";

export interface DownloadOptions {
  /** Where the bytes accumulate; kept between attempts and runs so a cut transfer resumes. */
  partialPath: string;
  /** Used in messages: the release file's name. */
  label: string;
  retry: RetryPolicy;
  /** What the result's digest is computed with; sha256 unless the expected digest is another. */
  algorithm?: DigestAlgorithm;
  /** Abort an attempt when no byte arrives for this long. */
  stallTimeoutMs?: number;
  onProgress?: (bytes: number, total: number | undefined) => void;
  onRetry?: (error: Error, attempt: number, delayMs: number) => void;
}

export interface Downloaded {
  digest: Digest;
  size: number;
  /** Bytes that came over the network in this call (less than size after a resume). */
  transferred: number;
}

/** Sends one GET with the given extra headers; a registry client adds its authentication here. */
export type SendRequest = (headers: Record<string, string>, signal: AbortSignal) => Promise<Response>;

/** How long a download may stand still before the attempt is abandoned (it resumes on the next one). */
export const DOWNLOAD_IDLE_MS = 60_000;

export function plainGet(url: string): SendRequest {
  return (headers, signal) => httpFetch(url, { headers, signal, idleTimeoutMs: DOWNLOAD_IDLE_MS });
}

/**
 * Fetches `url` into `partialPath`, resuming with an HTTP Range request from what is already
 * there, retrying transient faults with backoff. Returns the digest (SHA-256 unless `algorithm`
 * says otherwise) of the whole file.
 * `send` performs the request (by default a plain GET of `url`).
 */
export async function downloadWithResume(
  url: string,
  options: DownloadOptions,
  send: SendRequest = plainGet(url),
): Promise<Downloaded> {
  let transferred = 0;
  const algorithm = options.algorithm ?? "sha256";
  return withRetry(
    options.retry,
    async () => {
      const have = await sizeOf(options.partialPath);
      const hash = createDigester(algorithm);
      if (have > 0) await hashFile(options.partialPath, hash);
      const controller = new AbortController();
      let stall: NodeJS.Timeout | undefined;
      const armStall = () => {
        clearTimeout(stall);
        stall = setTimeout(() => controller.abort(), options.stallTimeoutMs ?? 60_000);
      };
      armStall();
      let response: Response;
      try {
        response = await send(have > 0 ? { range: `bytes=${have}-` } : {}, controller.signal);
      } catch (error) {
        clearTimeout(stall);
        if (error instanceof OperatorError || error instanceof TransientError) throw error;
        throw new TransientError(`${options.label}: ${describe(error)}`, { cause: error });
      }
      try {
        let offset = have;
        if (response.status === 416 && have > 0) {
          // Everything was already here: the server has nothing after our last byte.
          await response.body?.cancel();
          return { digest: digestFromHash(algorithm, hash), size: have, transferred };
        }
        if (response.status === 200) {
          offset = 0;
        } else if (response.status === 206) {
          const start = /^bytes (\d+)-/.exec(response.headers.get("content-range") ?? "")?.[1];
          if (Number(start) !== have) {
            await response.body?.cancel();
            await truncate(options.partialPath, 0);
            throw new TransientError(`${options.label}: server resumed at byte ${start}, not ${have}; starting over`);
          }
        } else {
          await response.body?.cancel();
          throw httpError(response.status, url, options.label);
        }
        const fullHash = offset === 0 ? createDigester(algorithm) : hash;
        const length = Number(response.headers.get("content-length") ?? Number.NaN);
        const total = Number.isFinite(length) ? offset + length : undefined;
        const file = await open(options.partialPath, offset === 0 ? "w" : "a", 0o644);
        try {
          let bytes = offset;
          options.onProgress?.(bytes, total);
          if (response.body) {
            for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
              armStall();
              fullHash.update(chunk);
              await file.write(chunk);
              bytes += chunk.length;
              transferred += chunk.length;
              options.onProgress?.(bytes, total);
            }
          }
          await file.sync();
          if (total !== undefined && bytes !== total) {
            throw new TransientError(`${options.label}: connection ended at byte ${bytes} of ${total}`);
          }
          return { digest: digestFromHash(algorithm, fullHash), size: bytes, transferred };
        } catch (error) {
          if (error instanceof TransientError || error instanceof OperatorError) throw error;
          throw new TransientError(`${options.label}: transfer cut: ${describe(error)}`, { cause: error });
        } finally {
          await file.close();
        }
      } finally {
        clearTimeout(stall);
      }
    },
    options.onRetry,
  );
}

function httpError(status: number, url: string, label: string): Error {
  if (status === 429 || status >= 500) return new TransientError(`${label}: HTTP ${status} from ${url}`);
  if (status === 404) {
    return new OperatorError(`${label}: not found at ${url} (HTTP 404)`, {
      hint: "check the distro version and arch in cluster.yaml, and artifacts.source if you use a mirror",
    });
  }
  return new OperatorError(`${label}: HTTP ${status} from ${url}`, { hint: "check the mirror or release site" });
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${(error as Error).message} (${cause.code})`;
  return error instanceof Error ? error.message : String(error);
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw error;
  }
}

export async function hashFile(path: string, hash: Hash = createHash("sha256")): Promise<Hash> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash;
}

export async function removePartial(path: string): Promise<void> {
  await rm(path, { force: true });
}
