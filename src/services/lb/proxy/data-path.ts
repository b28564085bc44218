/**
 * How the proxy moves bytes: on Node's libuv TCP handles (tcp-handle.ts, the fast path) or on
 * plain `net.Socket`s (socket-path.ts, public API only). Both have the same face to the listener
 * (server.ts): accept clients, connect to a backend, splice the two.
 *
 * The handle path is chosen when Node's internal bindings pass their check at start; otherwise
 * the socket path is taken and the operator is told once. AIRSTRAP_LB_DATA_PATH=sockets forces
 * the socket path (the tests run both).
 */
import type net from "node:net";
import type { Events } from "../../../events.js";
import type { TcpHandle } from "./tcp-handle.js";

export type DataPathKind = "handles" | "sockets";

/** An accepted client connection, as its data path made it. */
export type Client = TcpHandle | net.Socket;
/** A connection to a backend, as its data path made it. */
export type Upstream = TcpHandle | net.Socket;

export interface SpliceHooks<T> {
  /** The pair closed; the byte counts are final. */
  closed(owner: T): void;
  /** The backend reset the connection (or failed a write with a reset). */
  backendReset(owner: T, reason: string): void;
}

/** A client spliced to a backend, whichever data path carries it. */
export interface Pair {
  readonly open: boolean;
  readonly isConnected: boolean;
  /** Client bytes read plus written: the idle sweep's activity counter. */
  readonly clientBytes: number;
  readonly bytesFromClients: number;
  readonly bytesToClients: number;
  /** A connect to `upstream` has started (a failed attempt is taken back with `connectFailed()`). */
  connecting(upstream: Upstream): void;
  connectFailed(): void;
  /** The backend is connected: the client's bytes so far go out, then both ways flow. */
  connected(): void;
  /** Closes the pair now (a reset where data was unread). */
  destroy(): void;
}

/** What both kinds of socket count. */
interface Counted {
  readonly bytesRead: number;
  readonly bytesWritten: number;
}

/** The byte counters of a pair, live while it is open and frozen when it closes. */
export abstract class PairCounters {
  private finalBytes: { client: number; fromClient: number; toClient: number } | undefined;
  protected abstract clientCounts(): Counted;
  /** The backend, once connected. */
  protected abstract connectedCounts(): Counted | undefined;

  /** Client bytes read plus written: the idle sweep's activity counter. */
  get clientBytes(): number {
    if (this.finalBytes) return this.finalBytes.client;
    const client = this.clientCounts();
    return client.bytesRead + client.bytesWritten;
  }

  get bytesFromClients(): number {
    return this.finalBytes ? this.finalBytes.fromClient : (this.connectedCounts()?.bytesWritten ?? 0);
  }

  get bytesToClients(): number {
    return this.finalBytes ? this.finalBytes.toClient : (this.connectedCounts()?.bytesRead ?? 0);
  }

  /** Before the sockets close: their counts are kept. */
  protected freezeCounts(): void {
    this.finalBytes = { client: this.clientBytes, fromClient: this.bytesFromClients, toClient: this.bytesToClients };
  }
}

export interface DataPath {
  readonly kind: DataPathKind;
  /** Takes over accepting on a listening server; `failed` is told of accept errors (EMFILE …). */
  acceptOn(server: net.Server, accepted: (client: Client) => void, failed: (reason: string) => void): void;
  /** Closes a client turned away (the connection limit). */
  refuse(client: Client): void;
  /** Starts reading `client`; its bytes wait for a backend. `owner` is what the hooks are told of. */
  splice<T>(client: Client, hooks: SpliceHooks<T>, owner: T): Pair;
  /** Starts a connect; `done(status)` once (0 = connected, else a negative errno) unless abandoned first. */
  connect(address: string, port: number, done: (status: number) => void): Upstream;
  /** Closes a connect attempt that failed, timed out or is no longer wanted. */
  abandon(upstream: Upstream): void;
}

export const DATA_PATH_ENV = "AIRSTRAP_LB_DATA_PATH";

/**
 * The data path for a listener starting now: `forced` ("sockets" or "handles") if given, else the
 * handle path when `checkHandles` passes, else the socket path — told as an event the first time.
 */
export function chooseDataPath(
  paths: Record<DataPathKind, DataPath>,
  checkHandles: () => void,
  events: Events,
  forced: string | undefined,
): DataPath {
  if (forced === "sockets" || forced === "handles") return paths[forced];
  if (forced) throw new Error(`${DATA_PATH_ENV} must be "handles" or "sockets", not ${JSON.stringify(forced)}`);
  try {
    checkHandles();
    return paths.handles;
  } catch (error) {
    if (!toldFallback) {
      toldFallback = true;
      events.emit({
        level: "warn",
        kind: "lb.datapath.fallback",
        service: "lb",
        message: `load balancer moves bytes through net.Socket (slower per connection): ${(error as Error).message}`,
        detail: { node: process.version },
      });
    }
    return paths.sockets;
  }
}

let toldFallback = false;

/** For tests: the next fallback is told again. */
export function forgetFallbackTold(): void {
  toldFallback = false;
}
