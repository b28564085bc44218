/** The load balancer's HTTP face for operators and probes: GET /healthz and GET /metrics. */
import http from "node:http";
import type net from "node:net";
import { formatEndpoint } from "../../net/endpoint.js";
import { adopt, listenTarget } from "../socket-handover.js";

export interface HealthReport {
  /** True when every listener has at least one backend that passes its checks. */
  healthy: boolean;
  listeners: {
    name: string;
    address: string;
    healthy: boolean;
    backends: { name: string; address: string; tier: string; state: string; activeConnections: number }[];
  }[];
}

export interface AdminServer {
  address: string;
  close(): Promise<void>;
}

export async function startAdminServer(
  where: { address: string; port: number },
  sources: { health(): HealthReport; metrics(): string },
): Promise<AdminServer> {
  const server = http.createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD" }).end();
    } else if (path === "/healthz") {
      const report = sources.health();
      response
        .writeHead(report.healthy ? 200 : 503, { "content-type": "application/json" })
        .end(`${JSON.stringify(report)}\n`);
    } else if (path === "/metrics") {
      response.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(sources.metrics());
    } else {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found: try /healthz or /metrics\n");
    }
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listenTarget("tcp", where.address, where.port, { host: where.address, port: where.port }), () => {
      server.off("error", reject);
      adopt("tcp", where.address, (server.address() as net.AddressInfo).port, server);
      resolve();
    });
  });
  const bound = server.address() as net.AddressInfo;
  return {
    address: formatEndpoint({ address: bound.address, port: bound.port }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
