/**
 * Joins a client handle and a backend handle: bytes are copied both ways untouched (`Flow`), a
 * FIN is passed on as a FIN (half-close) while the other direction keeps flowing, and the pair is
 * closed when both directions have ended or either side fails.
 *
 * Backpressure: a direction reads only while its previous write has been taken by the kernel. A
 * write the kernel could not take at once stops reading from the source until it completes, so
 * a slow reader holds at most one read buffer here and the TCP windows throttle the sender.
 *
 * The client is read from the moment it is accepted, while the backend connects: what it sends
 * first (a TLS ClientHello, an HTTP request) is held and written as soon as the connect
 * completes, as HAProxy does. The backend is read from the moment its connect starts, so libuv
 * registers its socket once for both events instead of re-adding it after the connect.
 */
import { constants } from "node:os";
import { type Pair, PairCounters, type SpliceHooks, type Upstream } from "./data-path.js";
import { Flow, type FlowOwner, type FlowRequest, type Side } from "./flow.js";
import { errorName, type TcpHandle, tcpBindings } from "./tcp-handle.js";

export class Splice<T> extends PairCounters implements FlowOwner, Pair {
  open = true;
  private readonly fromClient: Flow;
  private toClient: Flow | undefined;
  private upstream: TcpHandle | undefined;
  private established = false;
  private endedFlows = 0;
  private firstEnded: Flow | undefined;

  /** Starts reading the client at once; its first bytes wait for `connected()`. */
  constructor(
    private readonly client: TcpHandle,
    private readonly hooks: SpliceHooks<T>,
    private readonly owner: T,
  ) {
    super();
    this.fromClient = new Flow(this, client, "client");
    this.fromClient.start();
  }

  /**
   * A connect to `backend` has started: read it from now on (reads arrive only once it is
   * connected). A failed attempt is taken back with `connectFailed()`.
   */
  connecting(upstream: Upstream): void {
    const backend = upstream as TcpHandle;
    this.upstream = backend;
    this.toClient = new Flow(this, backend, "backend");
    this.toClient.to = this.client;
    this.toClient.start();
  }

  connectFailed(): void {
    this.upstream = undefined;
    this.toClient = undefined;
  }

  /** The backend is connected: the client's bytes so far go out, then both ways flow. */
  connected(): void {
    this.established = true;
    this.toClient!.startIfRefused();
    this.fromClient.to = this.upstream;
    this.fromClient.flushEarly();
  }

  get isConnected(): boolean {
    return this.established;
  }

  protected clientCounts(): TcpHandle {
    return this.client;
  }

  protected connectedCounts(): TcpHandle | undefined {
    return this.established ? this.upstream : undefined;
  }

  /**
   * Closes the pair now (a reset where data was unread). A backend still connecting is left to
   * whoever started the connect: its completion closes it.
   */
  destroy(): void {
    if (!this.open) return;
    this.open = false;
    this.freezeCounts();
    this.client.close();
    this.fromClient.close();
    if (this.established) {
      this.upstream!.close();
      this.toClient!.close();
    }
    this.hooks.closed(this.owner);
  }

  fail(side: Side, status: number): void {
    if (!this.open) return;
    if (side === "backend" && (status === RESET || status === BROKEN_PIPE)) {
      this.hooks.backendReset(this.owner, `${errorName(status)} from the backend`);
    }
    this.destroy();
  }

  /**
   * A direction has ended (its FIN read, every write of it taken by the kernel). When the other
   * has ended too, nothing is unread on either side and nothing is left in flight (a direction
   * reads its FIN only once its writes are taken), so closing both sends each FIN after any
   * queued data. Otherwise the FIN is passed on by a shutdown at the end of this loop turn —
   * usually the other FIN has arrived in the same turn by then, and no shutdown is needed.
   */
  flowEnded(flow: Flow): void {
    if (++this.endedFlows === 2) {
      this.destroy();
      return;
    }
    this.firstEnded = flow;
    halfClosed.push(this);
    if (halfClosed.length === 1) setImmediate(passOnHalfCloses);
  }

  /** Called for a queued half-close at the end of the loop turn. */
  passOnHalfClose(): void {
    const flow = this.firstEnded!;
    if (!this.open || this.endedFlows !== 1) return;
    const request = tcpBindings().newShutdownRequest() as FlowRequest;
    request.flow = flow;
    request.oncomplete = afterShutdown;
    const error = flow.to!.shutdown(request);
    if (error !== 0) this.fail(flow.target, error);
  }
}

const halfClosed: Splice<unknown>[] = [];

function passOnHalfCloses(): void {
  for (const splice of halfClosed.splice(0)) splice.passOnHalfClose();
}

function afterShutdown(this: FlowRequest, status: number): void {
  if (status < 0) this.flow!.splice.fail(this.flow!.target, status);
}

const RESET = -constants.errno.ECONNRESET;
const BROKEN_PIPE = -constants.errno.EPIPE;
