/**
 * One listening socket of the load balancer: accepts a client, connects it to the first backend
 * of the pool's order that answers within the connect timeout (moving on to the next one on
 * failure, before the client sees anything), then splices the two sockets. TLS and any other
 * protocol pass through untouched: bytes are never looked at.
 */
import net from "node:net";
import type { Events } from "../../../events.js";
import type { Backend, BackendPool } from "../backend-pool.js";
import type { LbListenerConfig } from "../config.js";
import { formatEndpoint } from "../endpoint.js";

export interface ListenerCounters {
  accepted: number;
  rejectedMaxConnections: number;
  failedNoBackend: number;
  closedIdle: number;
}

interface Connection {
  client: net.Socket;
  upstream: net.Socket | undefined;
  backend: Backend | undefined;
  /** Client bytes read + written at the last idle sweep, and when that total last changed. */
  seenBytes: number;
  activeAt: number;
  destroy(): void;
}

export class ListenerProxy {
  readonly counters: ListenerCounters = { accepted: 0, rejectedMaxConnections: 0, failedNoBackend: 0, closedIdle: 0 };
  private readonly connections = new Set<Connection>();
  private readonly server: net.Server;
  private boundAddress: string | undefined;
  private drained: (() => void) | undefined;
  private idleSweep: NodeJS.Timeout | undefined;

  constructor(
    private config: LbListenerConfig,
    readonly pool: BackendPool,
    private readonly events: Events,
  ) {
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (client) =>
      this.accept(client),
    );
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
      this.server.listen({ host: this.config.address, port: this.config.port, backlog: 1024 }, () => {
        this.server.off("error", onError);
        this.server.on("error", (error) =>
          this.events.emit({
            level: "error",
            kind: "lb.listener.error",
            service: "lb",
            message: `${this.config.name}: ${error.message}`,
          }),
        );
        this.scheduleIdleSweep();
        const bound = this.server.address() as net.AddressInfo;
        this.boundAddress = formatEndpoint({ address: bound.address, port: bound.port });
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
          if (connection.backend === undefined) continue;
          const bytes = connection.client.bytesRead + connection.client.bytesWritten;
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

  private accept(client: net.Socket): void {
    this.counters.accepted += 1;
    client.on("error", () => {});
    if (this.connections.size >= this.config.maxConnections) {
      this.counters.rejectedMaxConnections += 1;
      client.destroy();
      return;
    }
    const connection: Connection = {
      client,
      upstream: undefined,
      backend: undefined,
      seenBytes: 0,
      activeAt: performance.now(),
      destroy: () => {
        client.destroy();
        connection.upstream?.destroy();
      },
    };
    this.connections.add(connection);
    client.once("close", () => this.forget(connection));
    this.tryBackends(connection, this.pool.order(), 0);
  }

  private tryBackends(connection: Connection, candidates: Backend[], index: number): void {
    const { client } = connection;
    if (client.destroyed) return;
    const backend = candidates[index];
    if (backend === undefined) {
      this.counters.failedNoBackend += 1;
      client.destroy();
      return;
    }
    backend.activeConnections += 1;
    const upstream = net.connect({ host: backend.address, port: backend.port, allowHalfOpen: true, noDelay: true });
    connection.upstream = upstream;
    let settled = false;
    const onError = (error: Error) => fail(error.message);
    const onClose = () => fail("closed while connecting");
    const settle = () => {
      settled = true;
      clearTimeout(timer);
      upstream.off("error", onError);
      upstream.off("close", onClose);
    };
    const fail = (reason: string) => {
      if (settled) return;
      settle();
      backend.activeConnections -= 1;
      upstream.on("error", () => {});
      upstream.destroy();
      connection.upstream = undefined;
      if (client.destroyed) return;
      this.pool.reportConnectFailure(backend, reason);
      this.tryBackends(connection, candidates, index + 1);
    };
    const timer = setTimeout(
      () => fail(`connect timed out after ${this.config.connectTimeoutMs} ms`),
      this.config.connectTimeoutMs,
    );
    upstream.once("error", onError);
    upstream.once("close", onClose);
    upstream.once("connect", () => {
      if (settled) return;
      settle();
      if (client.destroyed) {
        backend.activeConnections -= 1;
        upstream.on("error", () => {});
        upstream.destroy();
        return;
      }
      this.splice(connection, upstream, backend);
    });
  }

  private splice(connection: Connection, upstream: net.Socket, backend: Backend): void {
    const { client } = connection;
    connection.backend = backend;
    backend.connectionsTotal += 1;
    backend.connections.add(connection);
    // A side that closes before its data was fully read or delivered means the stream is cut:
    // the other side must not be left waiting for bytes that will never come.
    const cutIfIncomplete = (from: net.Socket, other: net.Socket) => () => {
      if (!from.readableEnded || !from.writableFinished) other.destroy();
    };
    upstream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNRESET" && this.pool.list().includes(backend)) {
        this.pool.reportReset(backend, `connection reset by ${backend.key}`);
      }
      client.destroy();
    });
    client.on("error", () => upstream.destroy());
    upstream.once("close", cutIfIncomplete(upstream, client));
    client.once("close", cutIfIncomplete(client, upstream));
    upstream.once("close", () => {
      backend.activeConnections -= 1;
      backend.connections.delete(connection);
      backend.bytesFromClients += upstream.bytesWritten;
      backend.bytesToClients += upstream.bytesRead;
    });
    connection.activeAt = performance.now();
    forward(client, upstream);
    forward(upstream, client);
    client.resume();
  }

  private forget(connection: Connection): void {
    this.connections.delete(connection);
    if (this.connections.size === 0) this.drained?.();
  }
}

/**
 * Copies one direction with backpressure (a full destination pauses the source until it drains,
 * so a slow reader holds at most one socket buffer here) and passes FIN on as FIN. Hand-rolled
 * rather than stream.pipe(): pipe() wires seven listeners per direction, which is measurable
 * per connection at short-connection rates.
 */
function forward(from: net.Socket, to: net.Socket): void {
  from.on("data", (chunk: Buffer) => {
    if (!to.write(chunk)) from.pause();
  });
  to.on("drain", () => from.resume());
  from.once("end", () => to.end());
}
