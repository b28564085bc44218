/**
 * The portable data path: `net.Socket`s joined by `pipe()`, Node's public API only. Taken when
 * the internal bindings of the handle path are missing or changed (data-path.ts): slower per
 * connection, the same behaviour — bytes untouched both ways, a FIN passed on as a FIN while the
 * other direction keeps flowing, backpressure through the kernel's windows, a reset on failure.
 *
 * The client stays paused (the server pauses on connect) until its backend is connected: what it
 * sends first waits in the kernel, FIN included, and is delivered whole once the pair is joined.
 */
import net from "node:net";
import { constants } from "node:os";
import { type DataPath, type Pair, PairCounters, type SpliceHooks, type Upstream } from "./data-path.js";

export const socketPath: DataPath = {
  kind: "sockets",
  // Accept errors (EMFILE …) reach the server's 'error' event, which the listener reports.
  acceptOn: (server, accepted) => server.on("connection", accepted),
  refuse: (client) => (client as net.Socket).destroy(),
  splice: (client, hooks, owner) => new SocketSplice(client as net.Socket, hooks, owner),
  connect(address, port, done) {
    const socket = net.connect({ host: address, port, allowHalfOpen: true, noDelay: true });
    const onError = (error: NodeJS.ErrnoException) => {
      socket.off("connect", onConnect);
      done(typeof error.errno === "number" ? error.errno : -constants.errno.EIO);
    };
    const onConnect = () => {
      socket.off("error", onError);
      done(0);
    };
    socket.once("error", onError).once("connect", onConnect);
    return socket;
  },
  abandon: (upstream: Upstream) => (upstream as net.Socket).destroy(),
};

class SocketSplice<T> extends PairCounters implements Pair {
  open = true;
  private upstream: net.Socket | undefined;
  private established = false;

  constructor(
    private readonly client: net.Socket,
    private readonly hooks: SpliceHooks<T>,
    private readonly owner: T,
  ) {
    super();
    client.on("error", (error) => this.fail(false, error));
    client.on("close", () => this.socketClosed());
  }

  connecting(upstream: Upstream): void {
    this.upstream = upstream as net.Socket;
  }

  connectFailed(): void {
    this.upstream = undefined;
  }

  connected(): void {
    const upstream = this.upstream!;
    this.established = true;
    upstream.on("error", (error) => this.fail(true, error));
    upstream.on("close", () => this.socketClosed());
    // pipe() ends its destination when the source ends: a FIN is passed on as a FIN.
    this.client.pipe(upstream);
    upstream.pipe(this.client);
  }

  get isConnected(): boolean {
    return this.established;
  }

  protected clientCounts(): net.Socket {
    return this.client;
  }

  protected connectedCounts(): net.Socket | undefined {
    return this.established ? this.upstream : undefined;
  }

  destroy(): void {
    if (!this.open) return;
    this.freezeCounts();
    this.open = false;
    this.client.destroy();
    if (this.established) this.upstream!.destroy();
    this.hooks.closed(this.owner);
  }

  private fail(backend: boolean, error: NodeJS.ErrnoException): void {
    if (!this.open) return;
    if (backend && (error.code === "ECONNRESET" || error.code === "EPIPE")) {
      this.hooks.backendReset(this.owner, `${error.code} from the backend`);
    }
    this.destroy();
  }

  /**
   * A socket closes by itself once both of its directions have ended; the pair is done when both
   * sockets are (closing the first one's partner earlier could cut writes still queued in it).
   */
  private socketClosed(): void {
    if (this.client.destroyed && (!this.established || this.upstream!.destroyed)) this.destroy();
  }
}
