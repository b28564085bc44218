import http from "node:http";
import type net from "node:net";
import { gzipSync } from "node:zlib";
import type { Endpoint } from "../../net/endpoint.js";
import { formatEndpoint } from "../../net/endpoint.js";
import { redact } from "../../secrets.js";
import { decideAccess } from "./access.js";
import type { JournalEntry, Resume } from "./journal.js";
import { type PageAsset, pageAssets } from "./page-assets.js";
import { eventRow } from "./rows.js";

/**
 * The status page's sockets: one HTTP server with the page and its assets, `/api/state` (the
 * page's state as JSON) and `/events` (Server-Sent Events: `state` with the whole state, `log`
 * with one event row each, numbered for Last-Event-ID, `restart` when the browser must clear its
 * rows). Everything sent passes the process's redactor once more on its way out.
 */
export interface DashboardSources {
  token(): string | undefined;
  /** The page's state as JSON text. */
  state(): string;
  resume(lastEventId: string | undefined): Resume;
}

const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

/** A comment line now and then keeps proxies and idle timers from closing a quiet stream. */
const KEEPALIVE_MS = 15_000;

export class DashboardServer {
  private readonly server: http.Server;
  private readonly streams = new Set<http.ServerResponse>();
  private readonly assets = compressed(pageAssets());
  private keepalive: NodeJS.Timeout | undefined;

  constructor(private readonly sources: DashboardSources) {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 5000;
  }

  get watchers(): number {
    return this.streams.size;
  }

  async listen(endpoint: Endpoint): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen({ host: endpoint.address, port: endpoint.port }, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    this.keepalive = setInterval(() => this.write(": keepalive\n\n"), KEEPALIVE_MS);
    this.keepalive.unref();
    const bound = this.server.address() as net.AddressInfo;
    return formatEndpoint({ address: bound.address, port: bound.port });
  }

  pushLog(entry: JournalEntry): void {
    if (this.streams.size > 0) this.write(logMessage(entry));
  }

  pushState(): void {
    if (this.streams.size > 0) this.write(stateMessage(this.sources.state()));
  }

  close(): Promise<void> {
    clearInterval(this.keepalive);
    for (const stream of this.streams) stream.end();
    return new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private write(text: string): void {
    const safe = redact(text);
    for (const stream of this.streams) stream.write(safe);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    const url = new URL(req.url ?? "/", "http://dashboard");
    if (req.method !== "GET" && req.method !== "HEAD") plain(res, 405, "GET or HEAD only\n");
    else if (url.pathname === "/healthz") plain(res, 200, "ok\n");
    else this.answerAllowed(req, res, url);
  }

  /** Everything but /healthz: only for a browser with the token, when there is one. */
  private answerAllowed(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    const access = decideAccess(this.sources.token(), url, req.headers.cookie);
    if (access.kind === "refused") {
      plain(res, 401, "open the link airstrap printed when it started the dashboard (it carries the token)\n");
    } else if (access.kind === "set-cookie") {
      res.writeHead(303, { location: access.location, "set-cookie": access.cookie, "cache-control": "no-store" });
      res.end();
    } else if (url.pathname === "/events") {
      this.openStream(req, res);
    } else if (url.pathname === "/api/state") {
      res.writeHead(200, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
      res.end(redact(this.sources.state()));
    } else {
      this.sendAsset(req, res, url.pathname === "/" ? "/index.html" : url.pathname);
    }
  }

  private sendAsset(req: http.IncomingMessage, res: http.ServerResponse, path: string): void {
    const asset = this.assets.get(path);
    if (asset === undefined) {
      plain(res, 404, "not found\n");
      return;
    }
    const gzip = /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
    const body = gzip ? asset.gzipped : asset.body;
    res.writeHead(200, {
      "content-type": asset.type,
      "content-length": body.length,
      "cache-control": "no-cache",
      vary: "accept-encoding",
      ...(gzip ? { "content-encoding": "gzip" } : {}),
    });
    res.end(req.method === "HEAD" ? undefined : body);
  }

  private openStream(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      connection: "keep-alive",
    });
    const lastId = req.headers["last-event-id"];
    const resume = this.sources.resume(typeof lastId === "string" ? lastId : undefined);
    const parts = ["retry: 1000\n\n"];
    if (resume.kind === "restart") parts.push("event: restart\ndata: {}\n\n");
    for (const entry of resume.entries) parts.push(logMessage(entry));
    parts.push(stateMessage(this.sources.state()));
    res.write(redact(parts.join("")));
    this.streams.add(res);
    const forget = () => this.streams.delete(res);
    res.on("close", forget);
    req.on("close", forget);
  }
}

function logMessage(entry: JournalEntry): string {
  return `event: log\nid: ${entry.id}\ndata: ${JSON.stringify(eventRow(entry.event))}\n\n`;
}

function stateMessage(json: string): string {
  return `event: state\ndata: ${json}\n\n`;
}

function plain(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
  res.end(text);
}

interface ServedAsset {
  type: string;
  body: Buffer;
  gzipped: Buffer;
}

function compressed(assets: PageAsset[]): Map<string, ServedAsset> {
  return new Map(
    assets.map((asset) => {
      const body = Buffer.from(asset.text);
      return [asset.path, { type: asset.type, body, gzipped: gzipSync(body, { level: 9 }) }];
    }),
  );
}
