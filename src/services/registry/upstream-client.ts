import type { IncomingMessage } from "node:http";
import { httpRequest, readBody } from "../../net/http-client.js";
import { MANIFEST_MEDIA_TYPES } from "../../store/oci-manifest.js";
import { REGISTRY_TIMEOUT_DEFAULTS } from "./config.js";

/**
 * A plain GET against another registry (an upstream or a peer), through src/net/http-client.ts:
 * `timeoutMs` bounds connecting, waiting for the answer, and every stall of its body.
 */
export interface UpstreamOptions {
  /** PEM of the CA that signed the other side's certificate (the site CA). */
  ca?: Buffer;
  /** Value of the Authorization header, e.g. for a peer that requires credentials. */
  authorization?: string;
  /** Milliseconds to connect, to wait for the headers, and that the body may stand still (default 30 s). */
  timeoutMs?: number;
}

export const MANIFEST_ACCEPT = MANIFEST_MEDIA_TYPES.join(", ");

export function upstreamGet(
  base: string,
  path: string,
  headers: Record<string, string>,
  options: UpstreamOptions = {},
): Promise<IncomingMessage> {
  const url = new URL(path, base.endsWith("/") ? base : `${base}/`);
  const timeoutMs = options.timeoutMs ?? REGISTRY_TIMEOUT_DEFAULTS.upstreamTimeoutMs;
  return httpRequest(url, {
    headers: { ...headers, ...(options.authorization ? { Authorization: options.authorization } : {}) },
    ...(options.ca ? { ca: options.ca } : {}),
    connectTimeoutMs: timeoutMs,
    idleTimeoutMs: timeoutMs,
  });
}

/** A small answer (manifest, listing) in memory, at most `limit` bytes. */
export const readAll = (res: IncomingMessage, limit: number): Promise<Buffer> =>
  readBody(res, limit, "upstream answer");
