import { createServer as createHttpServer, type Server as HttpServer, type RequestListener } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { closeServer, listenOn } from "../listen.js";
import { parseListen, REGISTRY_TIMEOUT_DEFAULTS, type RegistryConfig } from "./config.js";

/**
 * The registry's sockets: one HTTP or HTTPS server per listen address, with a timeout on every
 * phase of a connection. No limit on a whole request (a 10 GB upload may take hours): instead a
 * client has `headersTimeoutMs` to send its headers, and a connection that makes no progress for
 * `idleTimeoutMs` — no body byte arriving, no response byte taken — is dropped, which releases its
 * socket, its open blob or upload file and its transfer slot.
 */
export interface RegistryListeners {
  readonly addresses: string[];
  /** Applies new timeouts to the listening servers (connections pick them up on their next request). */
  setTimeouts(config: RegistryConfig): void;
  /** Stops accepting; requests in flight finish (idle keep-alive connections are closed). */
  close(): Promise<void>;
}

export type RegistryTimeouts = Pick<RegistryConfig, "headersTimeoutMs" | "idleTimeoutMs">;

/** Connections are looked at this often for overdue headers (Node's default is 30 s). */
const checkingIntervalMs = (headersMs: number) => Math.max(100, Math.min(30_000, Math.floor(headersMs / 4)));

export async function listenRegistry(
  config: Pick<RegistryConfig, "listen"> & RegistryTimeouts,
  tls: { cert: Buffer; key: Buffer } | undefined,
  handle: RequestListener,
): Promise<RegistryListeners> {
  const headersMs = config.headersTimeoutMs ?? REGISTRY_TIMEOUT_DEFAULTS.headersTimeoutMs;
  const options = { connectionsCheckingInterval: checkingIntervalMs(headersMs) };
  const servers: HttpServer[] = [];
  const addresses: string[] = [];
  const setTimeouts = (timeouts: RegistryTimeouts) => {
    for (const server of servers) applyTimeouts(server, timeouts);
  };
  for (const text of config.listen) {
    const server = tls ? createHttpsServer({ ...tls, ...options }, handle) : createHttpServer(options, handle);
    servers.push(server);
    setTimeouts(config);
    addresses.push(await listenOn(server, parseListen(text)));
  }
  return {
    addresses,
    setTimeouts,
    close: () => Promise.all(servers.map((server) => closeServer(server, false))).then(() => undefined),
  };
}

function applyTimeouts(server: HttpServer, timeouts: RegistryTimeouts): void {
  const idleMs = timeouts.idleTimeoutMs ?? REGISTRY_TIMEOUT_DEFAULTS.idleTimeoutMs;
  server.headersTimeout = timeouts.headersTimeoutMs ?? REGISTRY_TIMEOUT_DEFAULTS.headersTimeoutMs;
  server.requestTimeout = 0;
  // Socket inactivity: neither a read nor a completed write for this long. With no 'timeout'
  // listener on the server, Node destroys the socket, and every handler sees it close.
  server.timeout = idleMs;
  server.keepAliveTimeout = Math.min(30_000, idleMs);
}

/**
 * Runs `wait` (a wait for something other than this client, e.g. a transfer slot) with the
 * connection's idle timeout suspended: waiting in line is not the client stalling.
 */
export async function withoutIdleTimeout<T>(
  socket: { timeout?: number; setTimeout(ms: number): unknown } | null,
  wait: () => Promise<T>,
): Promise<T> {
  const idleMs = socket?.timeout ?? 0;
  socket?.setTimeout(0);
  try {
    return await wait();
  } finally {
    if (idleMs > 0) socket?.setTimeout(idleMs);
  }
}
