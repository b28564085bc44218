import { type IncomingMessage, type OutgoingHttpHeaders, request as plainRequest } from "node:http";
import { request as tlsRequest } from "node:https";
import type { LookupFunction, Socket } from "node:net";
import { OperatorError } from "../errors.js";

/**
 * The one way airstrap makes an HTTP(S) request, with one timeout policy:
 * - connecting (TCP and TLS) must finish within `connectTimeoutMs`;
 * - after that, the connection may go `idleTimeoutMs` without a byte moving — waiting for the
 *   answer's headers, or in the middle of its body. A slow body that keeps moving is never cut;
 * - a body read into memory (`readBody`, `requestBuffer`) is capped, and exceeding the cap is an
 *   OperatorError naming the request, not unbounded memory.
 * Built on node:http/https (streams, per-request CA and client certificates, no extra agent).
 */
export interface HttpRequestOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: Buffer | string;
  /** TLS: PEM CA(s) the server's certificate must chain to, a client certificate and key, or no check at all. */
  ca?: Buffer | string;
  cert?: Buffer | string;
  key?: Buffer | string;
  insecure?: boolean;
  /** How to resolve the host name (e.g. through the site's own DNS servers). */
  lookup?: LookupFunction;
  /** Default 10 s. */
  connectTimeoutMs?: number;
  /** Default 30 s. */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
}

/** A connect or stall timeout: a fault of the network or the other side, which a caller may retry. */
export class HttpTimeout extends Error {
  override readonly name = "HttpTimeout";
}

export const HTTP_CLIENT_DEFAULTS = { connectTimeoutMs: 10_000, idleTimeoutMs: 30_000 } as const;

/** What a request's errors call it: "GET https://host/path". */
const describe = (method: string, url: URL) => `${method} ${url.origin}${url.pathname}`;

/**
 * Sends a request and resolves with the response once its headers arrived. The idle timeout stays
 * armed while the caller reads the body: a body that stops moving ends with an error on the stream.
 */
export function httpRequest(target: string | URL, options: HttpRequestOptions = {}): Promise<IncomingMessage> {
  const url = typeof target === "string" ? new URL(target) : target;
  const method = options.method ?? "GET";
  const what = describe(method, url);
  const connectMs = options.connectTimeoutMs ?? HTTP_CLIENT_DEFAULTS.connectTimeoutMs;
  const idleMs = options.idleTimeoutMs ?? HTTP_CLIENT_DEFAULTS.idleTimeoutMs;
  const send = url.protocol === "https:" ? tlsRequest : plainRequest;
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = send(url, {
      method,
      agent: false,
      headers: options.headers ?? {},
      ...(options.ca ? { ca: options.ca } : {}),
      ...(options.cert ? { cert: options.cert } : {}),
      ...(options.key ? { key: options.key } : {}),
      ...(url.protocol === "https:" ? { rejectUnauthorized: options.insecure !== true } : {}),
      ...(options.lookup ? { lookup: options.lookup } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const connectTimer = setTimeout(
      () => req.destroy(new HttpTimeout(`${what}: could not connect within ${connectMs} ms`)),
      connectMs,
    );
    req.once("socket", (socket: Socket) => {
      const connected = () => {
        clearTimeout(connectTimer);
        socket.setTimeout(idleMs, () =>
          req.destroy(new HttpTimeout(`${what}: no data for ${idleMs} ms (the other side stalled)`)),
        );
      };
      // agent: false, so the socket is always new: wait for its TCP (and TLS) connection.
      socket.once(url.protocol === "https:" ? "secureConnect" : "connect", connected);
    });
    req.once("response", (res) => {
      // The request's errors (the idle timeout) reach the body's reader as a stream error.
      req.on("error", (error) => res.destroy(error));
      resolve(res);
    });
    req.on("error", (error) => {
      clearTimeout(connectTimer);
      reject(error);
    });
    req.end(options.body);
  });
}

/** Reads a whole body into memory, refusing more than `maxBytes`. */
export async function readBody(res: IncomingMessage, maxBytes: number, what = "the response"): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      res.destroy();
      throw new OperatorError(`${what}: body larger than ${maxBytes} bytes, not read any further`, {
        hint: "the server sent far more than such an answer holds; check that the address is the right server",
      });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export interface BufferedResponse {
  status: number;
  headers: IncomingMessage["headers"];
  body: Buffer;
}

/** A request whose answer is small (JSON, a token): status, headers and the body, capped at `maxBodyBytes`. */
export async function requestBuffer(
  target: string | URL,
  options: HttpRequestOptions & { maxBodyBytes: number },
): Promise<BufferedResponse> {
  const url = typeof target === "string" ? new URL(target) : target;
  const res = await httpRequest(url, options);
  const body = await readBody(res, options.maxBodyBytes, describe(options.method ?? "GET", url));
  return { status: res.statusCode ?? 0, headers: res.headers, body };
}
