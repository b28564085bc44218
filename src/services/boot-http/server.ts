import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Events } from "../../events.js";
import type { Endpoint } from "../../net/endpoint.js";
import type { Network } from "../../net/ip.js";
import { clientAllowed } from "../files/allowed.js";
import { sendFile } from "../files/ranged-response.js";
import { type Answer, type AnswerEvent, answer, TEXT } from "./answer.js";
import { resolveAsset } from "./assets.js";
import type { AssetSource } from "./config.js";
import type { BootHttpMetrics } from "./metrics.js";
import { parseReport } from "./report.js";
import type { BootData } from "./store.js";

/**
 * The sockets of the boot server: HTTP listeners sharing one handler, which asks answer.ts what
 * to do and does it — write the reply, stream an asset, or read a report body. Bodies never reach
 * an event.
 */

/** What the handler reads on every request: a reload swaps it in one assignment. */
export interface ServingState {
  data: BootData;
  /** Clients allowed; undefined = any. */
  networks: Network[] | undefined;
  assets: AssetSource | undefined;
  reportMaxBytes: number;
}

export interface HandlerContext {
  state(): ServingState;
  metrics: BootHttpMetrics;
  events: Events;
  renderMetrics(): string;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export function createHandler(context: HandlerContext): Handler {
  const { metrics, events } = context;
  const emit = (event: AnswerEvent) => events.emit({ ...event, service: "boot-http" });
  const finish = (
    endpoint: string,
    res: ServerResponse,
    status: number,
    contentType: string,
    body: string | Buffer,
  ) => {
    metrics.request(endpoint, status);
    res.writeHead(status, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body) });
    res.end(res.req.method === "HEAD" ? undefined : body);
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The raw path, not WHATWG URL's: that folds "/assets/../x" into "/x", and a traversal
    // attempt should be seen (refused with an event), not silently turned into another request.
    const raw = req.url ?? "/";
    const queryStart = raw.indexOf("?");
    const path = queryStart === -1 ? raw : raw.slice(0, queryStart);
    const rawQuery = queryStart === -1 ? "" : raw.slice(queryStart + 1);
    if (path === "/healthz") return finish("healthz", res, 200, TEXT, "ok\n");
    if (path === "/metrics") {
      return finish("metrics", res, 200, "text/plain; version=0.0.4; charset=utf-8", context.renderMetrics());
    }
    // The state a request started with answers all of it, whatever a reload does meanwhile.
    const state = context.state();
    if (state.networks && !clientAllowed(req.socket.remoteAddress, state.networks)) {
      const client = req.socket.remoteAddress ?? "";
      emit({
        level: "warn",
        kind: "boot.client.refused",
        message: `${req.method} ${path} from ${client} refused: not in the allowed networks`,
        detail: { client, path },
      });
      return finish("refused", res, 403, TEXT, "this address may not boot from airstrap\n");
    }
    const decided: Answer = answer(state.data, {
      method: req.method ?? "GET",
      path,
      query: new URLSearchParams(rawQuery),
      rawQuery,
    });
    if (decided.kind === "reply") {
      if (decided.event) emit(decided.event);
      return finish(decided.endpoint, res, decided.status, decided.contentType, decided.body);
    }
    if (decided.kind === "asset") return serveAsset(state.assets, decided.name, req, res);
    const body = await readBounded(req, state.reportMaxBytes);
    if (body === undefined) {
      res.setHeader("Connection", "close");
      return finish("report", res, 413, TEXT, `a report is at most ${state.reportMaxBytes} bytes\n`);
    }
    const parsed = parseReport(body);
    if (!parsed.ok) return finish("report", res, 400, TEXT, `${parsed.problem}\n`);
    const { report } = parsed;
    metrics.reports += 1;
    emit({
      level: report.status === "first-boot-done" && report.ignition !== "failure" ? "info" : "warn",
      kind: "boot.report",
      message: `${decided.mac} (group ${decided.group.id}) reported ${report.status}, Ignition ${report.ignition}`,
      detail: { mac: decided.mac, group: decided.group.id, ...report },
    });
    metrics.request("report", 204);
    res.writeHead(204).end();
  }

  async function serveAsset(source: AssetSource | undefined, name: string, req: IncomingMessage, res: ServerResponse) {
    const client = req.socket.remoteAddress ?? "";
    const started = Date.now();
    if (source === undefined) return finish("assets", res, 404, TEXT, "404 page not found\n");
    const lookup = await resolveAsset(source, name);
    if (!lookup.ok) {
      emit({
        level: lookup.status === 403 ? "warn" : "info",
        kind: lookup.status === 403 ? "boot.asset.refused" : "boot.asset.missing",
        message: `/assets/${name} for ${client}: ${lookup.problem}`,
        detail: { path: name, client, status: lookup.status },
      });
      return finish("assets", res, lookup.status, TEXT, `${lookup.problem}\n`);
    }
    const sent = await sendFile(req, res, lookup.path, "application/octet-stream");
    metrics.assetBytes += sent;
    metrics.request("assets", res.statusCode);
    emit({
      level: "info",
      kind: "boot.asset",
      message: `/assets/${name} served to ${client} (${res.statusCode}, ${sent} bytes)`,
      detail: {
        path: name,
        client,
        status: res.statusCode,
        bytes: sent,
        range: req.headers.range ?? null,
        // From the request to the last byte handed to the socket: where a machine's boot waits on a download.
        durationMs: Date.now() - started,
      },
    });
  }

  return (req, res) => {
    handle(req, res).catch((error: Error) => {
      // A client that hangs up mid-download is no fault of ours and needs no answer.
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      emit({ level: "error", kind: "boot.error", message: `${req.method} ${req.url}: ${error.message}`, detail: {} });
      finish("error", res, 500, TEXT, "internal error\n");
    });
  };
}

/** The body as text, or undefined once it grows past max bytes (the rest is not read). */
async function readBounded(req: IncomingMessage, max: number): Promise<string | undefined> {
  if (Number(req.headers["content-length"] ?? 0) > max) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export interface HttpListener {
  endpoint: Endpoint;
  bound: Endpoint;
  /** Stops accepting; requests in flight get drainMs to finish, then their connections are cut. */
  close(drainMs: number): Promise<void>;
}

export async function listenHttp(endpoint: Endpoint, handler: Handler): Promise<HttpListener> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: endpoint.address, port: endpoint.port, exclusive: true }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    endpoint,
    bound: { address: endpoint.address, port: address.port },
    close(drainMs) {
      return new Promise<void>((resolve) => {
        const cut = setTimeout(() => server.closeAllConnections(), drainMs);
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
