import { createServer, type Server } from "node:http";
import { adopt, listenTarget } from "../socket-handover.js";
import type { DnsEndpoint } from "./config.js";

/** The DNS server's HTTP face: /metrics (Prometheus text) and /healthz. */
export interface StatusEndpoint {
  bound: DnsEndpoint;
  close(): Promise<void>;
}

export function serveStatus(
  endpoint: DnsEndpoint,
  metrics: () => string | Promise<string>,
  healthy: () => boolean,
): Promise<StatusEndpoint> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD" }).end();
    } else if (path === "/metrics") {
      Promise.resolve()
        .then(metrics)
        .then(
          (text) => response.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(text),
          () => response.writeHead(500, { "content-type": "text/plain" }).end("metrics unavailable\n"),
        );
    } else if (path === "/healthz" || path === "/readyz") {
      const ok = healthy();
      response.writeHead(ok ? 200 : 503, { "content-type": "text/plain" }).end(ok ? "ok\n" : "not serving\n");
    } else {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found: try /metrics or /healthz\n");
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    const target = { host: endpoint.address, port: endpoint.port, exclusive: true };
    server.listen(listenTarget("tcp", endpoint.address, endpoint.port, target), () => {
      server.off("error", reject);
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : endpoint.port;
      adopt("tcp", endpoint.address, port, server);
      resolve({
        bound: { address: endpoint.address, port },
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
