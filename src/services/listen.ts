import type { Server } from "node:net";
import { boundEndpoint, type Endpoint } from "../net/endpoint.js";
import { adopt, listenTarget } from "./socket-handover.js";

/** Binds a server (net, http or https) and resolves with where it listens ("addr:port", the kernel's port when 0 was asked). */
export function listenOn(server: Server, endpoint: Endpoint): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    server.once("error", reject);
    server.listen(endpoint.port, endpoint.address, () => {
      server.off("error", reject);
      resolve(boundEndpoint(server.address()));
    });
  });
}

/**
 * As listenOn, for a listener of `airstrap node`: it takes the socket a replaced executable handed
 * over when there is one, and is handed over in turn (socket-handover.ts).
 */
export function listenHandedOver(server: Server, endpoint: Endpoint): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    server.once("error", reject);
    const target = listenTarget("tcp", endpoint.address, endpoint.port, {
      host: endpoint.address,
      port: endpoint.port,
    });
    server.listen(target, () => {
      server.off("error", reject);
      const bound = boundEndpoint(server.address());
      const address = server.address();
      adopt("tcp", endpoint.address, typeof address === "object" && address ? address.port : endpoint.port, server);
      resolve(bound);
    });
  });
}

/** Stops accepting and resolves once every connection is gone; `force` cuts the ones still busy. */
export function closeServer(
  server: Server & { closeIdleConnections?(): void; closeAllConnections?(): void },
  force: boolean,
) {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    if (force) server.closeAllConnections?.();
    else server.closeIdleConnections?.();
  });
}
