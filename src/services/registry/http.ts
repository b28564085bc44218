import type { IncomingMessage, ServerResponse } from "node:http";
import type { Events } from "../../events.js";
import type { Repositories } from "../../store/repositories.js";
import type { BodySlots } from "./body-slots.js";
import { RegistryError } from "./errors.js";
import type { Gate } from "./gate.js";
import type { Mirror } from "./mirror.js";
import type { UploadSessions } from "./storage/uploads.js";

/** What every handler works with; handlers stay thin over storage and protocol logic. */
export interface RegistryContext {
  repos: Repositories;
  uploads: UploadSessions;
  events: Events;
  maxManifestBytes: number;
  /** Whether a mount without `from` may take the blob from any repository (config.ts). */
  automaticCrossMount: boolean;
  /** Pushes hold it shared; garbage collection holds it exclusively while it sweeps. */
  gate: Gate;
  mirror: Mirror | undefined;
  /** How many large blob bodies stream to one client at once; the rest wait their turn. */
  bodySlots: BodySlots;
}

export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
}

export function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string | number> = {},
  body?: string | Buffer,
): void {
  const payload = body === undefined ? undefined : typeof body === "string" ? Buffer.from(body) : body;
  res.writeHead(status, { "Content-Length": payload?.length ?? 0, ...headers });
  res.end(res.req.method === "HEAD" ? undefined : payload);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) {
  send(res, status, { "Content-Type": "application/json", ...headers }, JSON.stringify(value));
}

export function sendError(res: ServerResponse, error: RegistryError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  send(res, error.status, { "Content-Type": "application/json", ...error.headers }, error.body());
}

/** Reads a small body (a manifest) whole, refusing more than `limit` bytes. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  if (declared > limit) {
    req.resume();
    throw new RegistryError("SIZE_INVALID", `body larger than ${limit} bytes`, { status: 413 });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new RegistryError("SIZE_INVALID", `body larger than ${limit} bytes`, { status: 413 });
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Paging parameters `n` and `last` shared by the tag list and the catalog. */
export function pageOf(names: string[], url: URL): { page: string[]; next?: string } {
  const nParam = url.searchParams.get("n");
  const last = url.searchParams.get("last");
  let rest = last === null ? names : names.filter((name) => name > last);
  if (nParam === null) return { page: rest };
  const n = Number(nParam);
  if (!Number.isInteger(n) || n < 0) {
    throw new RegistryError("UNSUPPORTED", `n=${nParam} is not a non-negative integer`, { status: 400 });
  }
  const page = rest.slice(0, n);
  rest = rest.slice(n);
  if (page.length === 0 || rest.length === 0) return { page };
  const next = new URL(url.pathname, "http://registry");
  next.searchParams.set("n", String(n));
  next.searchParams.set("last", page[page.length - 1]!);
  return { page, next: `<${next.pathname}${next.search}>; rel="next"` };
}
