import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { MANIFEST_MEDIA_TYPES } from "../../store/oci-manifest.js";

/** A plain GET against another registry (an upstream or a peer), with a deadline to connect. */
export interface UpstreamOptions {
  /** PEM of the CA that signed the other side's certificate (the site CA). */
  ca?: Buffer;
  /** Value of the Authorization header, e.g. for a peer that requires credentials. */
  authorization?: string;
  /** Milliseconds to wait for the response headers. */
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
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: "GET",
        headers: { ...headers, ...(options.authorization ? { Authorization: options.authorization } : {}) },
        ...(options.ca ? { ca: options.ca } : {}),
      },
      (res) => {
        clearTimeout(timer);
        resolve(res);
      },
    );
    const timer = setTimeout(
      () => req.destroy(new Error(`no answer from ${url.origin} in time`)),
      options.timeoutMs ?? 10_000,
    );
    req.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end();
  });
}

export async function readAll(res: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      res.destroy();
      throw new Error(`response larger than ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
