import http from "node:http";
import type { Endpoint } from "../../net/endpoint.js";
import { closeServer, listenHandedOver } from "../listen.js";
import { answerStatus } from "./answer.js";

/** Where the answers come from, and who may ask. */
export interface StatusSources {
  allowed(remoteAddress: string): boolean;
  /** JSON text and whether every part is healthy (200, else 503). */
  health(): { healthy: boolean; json: string };
  metrics(): string | Promise<string>;
}

/** A reader that sends more than a request line and a few headers is not a status probe. */
const LIMITS = { headersTimeoutMs: 5000, requestTimeoutMs: 10_000, maxHeaderSize: 4096, maxConnections: 64 };

/** The listener's socket: small, read-only, answering only what `answerStatus` decides. */
export class NodeStatusServer {
  private readonly server: http.Server;

  constructor(sources: StatusSources) {
    this.server = http.createServer({ maxHeaderSize: LIMITS.maxHeaderSize }, (req, res) => {
      const decided = answerStatus({
        method: req.method ?? "GET",
        path: (req.url ?? "/").split("?")[0] ?? "/",
        allowed: sources.allowed(req.socket.remoteAddress ?? ""),
      });
      // A request body is never read: the connection closes after the answer.
      if (req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined)
        res.setHeader("connection", "close");
      if (decided.kind === "refuse") {
        res.writeHead(decided.status, { "content-type": "text/plain", connection: "close" }).end(decided.text);
        return;
      }
      if (decided.kind === "health") {
        const { healthy, json } = sources.health();
        res.writeHead(healthy ? 200 : 503, { "content-type": "application/json" }).end(`${json}\n`);
        return;
      }
      Promise.resolve()
        .then(() => sources.metrics())
        .then(
          (text) => res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(text),
          () => res.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n"),
        );
    });
    this.server.headersTimeout = LIMITS.headersTimeoutMs;
    this.server.requestTimeout = LIMITS.requestTimeoutMs;
    this.server.keepAliveTimeout = 5000;
    this.server.maxConnections = LIMITS.maxConnections;
  }

  listen(endpoint: Endpoint): Promise<string> {
    return listenHandedOver(this.server, endpoint);
  }

  close(): Promise<void> {
    return closeServer(this.server, true);
  }
}
