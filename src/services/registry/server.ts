import { createServer as createHttpServer, type RequestListener } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Server } from "node:net";
import { closeServer, listenOn } from "../listen.js";
import { parseListen } from "./config.js";

/** The registry's sockets: one HTTP or HTTPS server per listen address. */
export interface RegistryListeners {
  readonly addresses: string[];
  /** Stops accepting; requests in flight finish (idle keep-alive connections are closed). */
  close(): Promise<void>;
}

export async function listenRegistry(
  listen: string[],
  tls: { cert: Buffer; key: Buffer } | undefined,
  handle: RequestListener,
): Promise<RegistryListeners> {
  const servers: Server[] = [];
  const addresses: string[] = [];
  for (const text of listen) {
    const server = tls ? createHttpsServer({ ...tls }, handle) : createHttpServer(handle);
    server.keepAliveTimeout = 30_000;
    server.requestTimeout = 0;
    addresses.push(await listenOn(server, parseListen(text)));
    servers.push(server);
  }
  return {
    addresses,
    close: () => Promise.all(servers.map((server) => closeServer(server, false))).then(() => undefined),
  };
}
