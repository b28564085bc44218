/**
 * One listening socket of the load balancer: accepts a client, connects it to the first backend
 * of the pool's order that answers within the connect timeout (moving on to the next one on
 * failure, before the client sees anything), then splices the two sockets. TLS and any other
 * protocol pass through untouched: bytes are never looked at.
 */
import net from "node:net";
import { constants } from "node:os";
import type { Events } from "../../../events.js";
import { formatEndpoint } from "../../../net/endpoint.js";
import { adopt, listenTarget } from "../../socket-handover.js";
import type { Backend, BackendPool } from "../backend-pool.js";
import type { LbListenerConfig } from "../config.js";
import { type Client, chooseDataPath, DATA_PATH_ENV, type DataPath, type Pair, type SpliceHooks } from "./data-path.js";
import { handlePath } from "./handle-path.js";
import { socketPath } from "./socket-path.js";
import { errorName, tcpBindings } from "./tcp-handle.js";

export interface ListenerCounters {
  accepted: number;
  rejectedMaxConnections: number;
  failedNoBackend: number;
  closedIdle: number;
}

/** A client connection: its spliced pair plus the balancer's bookkeeping. */
class Connection {
  pair!: Pair;
  /** Set once a backend has accepted the connection. */
  backend: Backend | undefined;
  /** Client bytes read + written at the last idle sweep, and when that total last changed. */
  seenBytes = 0;
  activeAt = performance.now();

  destroy(): void {
    this.pair.destroy();
  }
}

export class ListenerProxy {
  readonly counters: ListenerCounters = { accepted: 0, rejectedMaxConnections: 0, failedNoBackend: 0, closedIdle: 0 };
  private readonly connections = new Set<Connection>();
  private readonly server: net.Server;
  private boundAddress: string | undefined;
  private drained: (() => void) | undefined;
  private idleSweep: NodeJS.Timeout | undefined;
  readonly dataPath: DataPath;
  /** One object for every connection of this listener, rather than closures per connection. */
  private readonly spliceHooks: SpliceHooks<Connection> = {
    closed: (connection) => this.forget(connection),
    backendReset: (connection, reason) => {
      const backend = connection.backend;
      if (backend !== undefined && this.pool.list().includes(backend))
        this.pool.reportReset(backend, `connection reset by ${backend.key}: ${reason}`);
    },
  };

  constructor(
    private config: LbListenerConfig,
    readonly pool: BackendPool,
    private readonly events: Events,
  ) {
    this.dataPath = chooseDataPath(
      { handles: handlePath, sockets: socketPath },
      tcpBindings,
      events,
      process.env[DATA_PATH_ENV],
    );
    // On the handle path connections never reach the server as net.Sockets (acceptOn() in listen()).
    this.server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true, noDelay: true });
  }

  get name(): string {
    return this.config.name;
  }

  get address(): string {
    return this.boundAddress ?? formatEndpoint(this.config);
  }

  get activeConnections(): number {
    return this.connections.size;
  }

  listen(): Promise<string> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.server.once("error", onError);
      const { address, port } = this.config;
      this.server.listen(listenTarget("tcp", address, port, { host: address, port, backlog: 1024 }), () => {
        this.server.off("error", onError);
        adopt("tcp", address, (this.server.address() as net.AddressInfo).port, this.server);
        this.server.on("error", (error) =>
          this.events.emit({
            level: "error",
            kind: "lb.listener.error",
            service: "lb",
            message: `${this.config.name}: ${error.message}`,
          }),
        );
        try {
          this.dataPath.acceptOn(
            this.server,
            (client) => this.accept(client),
            (reason) => this.acceptFailed(reason),
          );
        } catch (error) {
          this.server.close();
          reject(error);
          return;
        }
        this.scheduleIdleSweep();
        const bound = this.server.address() as net.AddressInfo;
        this.boundAddress = formatEndpoint({ address: bound.address, port: bound.port });
        this.events.emit({
          level: "debug",
          kind: "lb.listener.datapath",
          service: "lb",
          message: `${this.config.name}: bytes move through ${this.dataPath.kind === "handles" ? "libuv TCP handles" : "net.Socket"}`,
          detail: { dataPath: this.dataPath.kind },
        });
        resolve(this.boundAddress);
      });
    });
  }

  /** Settings that do not need a new socket (timeouts, limits, backends) change in place. */
  update(config: LbListenerConfig): void {
    const idleChanged = config.idleTimeoutMs !== this.config.idleTimeoutMs;
    this.config = config;
    this.pool.update(config);
    if (idleChanged) this.scheduleIdleSweep();
  }

  /**
   * Idle connections are found by a periodic sweep over the byte counters rather than by a timer
   * per socket: a per-socket timeout is re-armed on every read and write, which costs measurable
   * CPU at full throughput; the sweep costs nothing per byte. Precision: a quarter of the timeout.
   */
  private scheduleIdleSweep(): void {
    if (this.idleSweep) clearInterval(this.idleSweep);
    this.idleSweep = undefined;
    const idleMs = this.config.idleTimeoutMs;
    if (idleMs <= 0) return;
    this.idleSweep = setInterval(
      () => {
        const now = performance.now();
        for (const connection of this.connections) {
          if (!connection.pair.isConnected) continue;
          const bytes = connection.pair.clientBytes;
          if (bytes !== connection.seenBytes) {
            connection.seenBytes = bytes;
            connection.activeAt = now;
          } else if (now - connection.activeAt >= idleMs) {
            this.counters.closedIdle += 1;
            connection.destroy();
          }
        }
      },
      Math.min(Math.max(idleMs / 4, 50), 10_000),
    );
    this.idleSweep.unref();
  }

  /** Stops accepting new connections; the port is free once this resolves. */
  stopAccepting(): Promise<void> {
    this.pool.stop();
    if (this.idleSweep) clearInterval(this.idleSweep);
    this.idleSweep = undefined;
    // close() releases the listening socket at once; its callback would wait for every connection.
    if (this.server.listening) this.server.close();
    return Promise.resolve();
  }

  /** Lets established connections finish for up to `timeoutMs`, then closes what is left. */
  async drain(timeoutMs: number): Promise<void> {
    await this.stopAccepting();
    if (this.connections.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    for (const connection of [...this.connections]) connection.destroy();
  }

  private acceptFailed(reason: string): void {
    this.events.emit({
      level: "error",
      kind: "lb.listener.error",
      service: "lb",
      message: `${this.config.name}: ${reason}`,
    });
  }

  private accept(client: Client): void {
    this.counters.accepted += 1;
    if (this.connections.size >= this.config.maxConnections) {
      this.counters.rejectedMaxConnections += 1;
      this.dataPath.refuse(client);
      return;
    }
    const connection = new Connection();
    connection.pair = this.dataPath.splice(client, this.spliceHooks, connection);
    this.connections.add(connection);
    this.tryBackends(connection, this.pool.order(), 0);
  }

  private tryBackends(connection: Connection, candidates: Backend[], index: number): void {
    const pair = connection.pair;
    if (!pair.open) return;
    const backend = candidates[index];
    if (backend === undefined) {
      this.counters.failedNoBackend += 1;
      connection.destroy();
      return;
    }
    backend.activeConnections += 1;
    let settled = false;
    const settle = (status: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (status === 0 && pair.open) return this.connected(connection, backend);
      backend.activeConnections -= 1;
      this.dataPath.abandon(upstream);
      if (!pair.open) return;
      pair.connectFailed();
      const reason =
        status === TIMED_OUT ? `connect timed out after ${this.config.connectTimeoutMs} ms` : errorName(status);
      this.pool.reportConnectFailure(backend, reason);
      this.tryBackends(connection, candidates, index + 1);
    };
    const upstream = this.dataPath.connect(backend.address, backend.port, settle);
    pair.connecting(upstream);
    const timer = setTimeout(() => settle(TIMED_OUT), this.config.connectTimeoutMs);
  }

  private connected(connection: Connection, backend: Backend): void {
    connection.backend = backend;
    backend.connectionsTotal += 1;
    backend.connections.add(connection);
    connection.activeAt = performance.now();
    connection.pair.connected();
  }

  private forget(connection: Connection): void {
    const backend = connection.backend;
    if (backend !== undefined) {
      backend.activeConnections -= 1;
      backend.connections.delete(connection);
      backend.bytesFromClients += connection.pair.bytesFromClients;
      backend.bytesToClients += connection.pair.bytesToClients;
    }
    this.connections.delete(connection);
    this.afterForget();
  }

  private afterForget(): void {
    if (this.connections.size === 0) this.drained?.();
  }
}

/** Status a connect attempt settles with when the connect timeout fires first. */
const TIMED_OUT = -constants.errno.ETIMEDOUT;
