import type { Server } from "node:net";
import { boundEndpoint, type Endpoint } from "../net/endpoint.js";

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
