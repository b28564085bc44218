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

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const NO_BODY = new Set([204, 205, 304]);
const MAX_REDIRECTS = 5;

/**
 * The same request answered as a web `Response` (for code written against fetch's shape), with
 * redirects of a GET or HEAD followed (at most 5; credentials are not carried to another origin).
 */
export async function httpFetch(target: string | URL, options: HttpRequestOptions = {}): Promise<Response> {
  let url = typeof target === "string" ? new URL(target) : target;
  let current = options;
  for (let hop = 0; ; hop++) {
    const res = await httpRequest(url, current);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    const method = current.method ?? "GET";
    if (REDIRECTS.has(status) && location && (method === "GET" || method === "HEAD") && hop < MAX_REDIRECTS) {
      res.resume();
      const next = new URL(location, url);
      if (next.origin !== url.origin) current = { ...current, headers: withoutCredentials(current.headers ?? {}) };
      url = next;
      continue;
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, item);
    }
    if (NO_BODY.has(status) || method === "HEAD") {
      res.resume();
      return new Response(null, { status, headers });
    }
    return new Response(webBody(res), { status, headers });
  }
}

function withoutCredentials(headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !/^(authorization|cookie)$/i.test(name)));
}

/**
 * The body as a web stream that hands over every byte that arrived before an error (a cut
 * connection), and only then the error: a resumed download starts exactly where this one ended.
 * (Readable.toWeb drops the chunks still queued when the source fails.)
 */
function webBody(res: IncomingMessage): ReadableStream<Uint8Array> {
  const queued: Buffer[] = [];
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  res.on("data", (chunk: Buffer) => {
    queued.push(chunk);
    if (queued.length >= 16) res.pause();
    notify();
  });
  res.on("end", () => {
    ended = true;
    notify();
  });
  res.on("error", (error) => {
    failure = error;
    notify();
  });
  res.on("close", () => {
    if (!ended && !failure)
      failure = Object.assign(new Error("connection closed before the body ended"), { code: "ECONNRESET" });
    notify();
  });
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        while (queued.length === 0 && !ended && !failure) await new Promise<void>((resolve) => (wake = resolve));
        const chunk = queued.shift();
        if (chunk) {
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
          if (queued.length < 4) res.resume();
        } else if (failure) controller.error(failure);
        else controller.close();
      },
      cancel() {
        res.destroy();
      },
    },
    { highWaterMark: 0 },
  );
}
