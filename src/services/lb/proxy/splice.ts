/**
 * Joins a client handle and a backend handle: bytes are copied both ways untouched, a FIN is
 * passed on as a FIN (half-close) while the other direction keeps flowing, and the pair is closed
 * when both directions have ended or either side fails.
 *
 * Backpressure: a direction reads only while its previous write has been taken by the kernel. A
 * write the kernel could not take at once stops reading from the source until it completes, so
 * a slow reader holds at most one read buffer here and the TCP windows throttle the sender.
 *
 * The client is read from the moment it is accepted, while the backend connects: what it sends
 * first (a TLS ClientHello, an HTTP request) is held and written as soon as the connect
 * completes, as HAProxy does. The backend is read from the moment its connect starts, so libuv
 * registers its socket once for both events instead of re-adding it after the connect.
 *
 * Per connection the copy loop allocates no closures: every handle and request shares one
 * callback and finds its direction through a property (see `Flow`).
 */
import { constants } from "node:os";
import {
  errorName,
  type ShutdownRequest,
  type TcpHandle,
  tcpBindings,
  UV_EOF,
  type WriteRequest,
} from "./tcp-handle.js";

/**
 * Every direction starts reading into one buffer shared by all connections (no memory held by
 * idle connections, no allocation per read; the next read of any connection overwrites it, so a
 * chunk is copied out before it is written or held). After a read that fills it — a bulk
 * transfer — the direction switches to a reusable buffer of its own, which saves the copy and
 * lets the kernel hand over more per system call.
 */
const SHARED_READ_BYTES = 64 * 1024;
const BULK_BUFFER_BYTES = 256 * 1024;
const sharedReadBuffer = Buffer.allocUnsafe(SHARED_READ_BYTES);
/** What the client may send before its backend is connected; reading pauses beyond it. */
const EARLY_BYTES_LIMIT = 64 * 1024;

type Side = "client" | "backend";

export interface SpliceHooks {
  /** The pair closed; the byte counts are final. */
  closed(splice: Splice): void;
  /** The backend reset the connection (or failed a write with a reset). */
  backendReset(splice: Splice, reason: string): void;
}

interface FlowHandle extends TcpHandle {
  flow?: Flow;
}

interface FlowRequest extends WriteRequest, ShutdownRequest {
  flow?: Flow;
}

export class Splice {
  open = true;
  private readonly fromClient: Flow;
  private toClient: Flow | undefined;
  private upstream: TcpHandle | undefined;
  private established = false;
  private endedFlows = 0;
  private finalBytes: { client: number; fromClient: number; toClient: number } | undefined;

  /** Starts reading the client at once; its first bytes wait for `connected()`. */
  constructor(
    private readonly client: TcpHandle,
    private readonly hooks: SpliceHooks,
  ) {
    this.fromClient = new Flow(this, client, "client");
    this.fromClient.start();
  }

  /**
   * A connect to `backend` has started: read it from now on (reads arrive only once it is
   * connected). A failed attempt is taken back with `connectFailed()`.
   */
  connecting(backend: TcpHandle): void {
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

  /** Client bytes read plus written: the idle sweep's activity counter. */
  get clientBytes(): number {
    if (this.finalBytes) return this.finalBytes.client;
    return this.client.bytesRead + this.client.bytesWritten;
  }

  get bytesFromClients(): number {
    if (this.finalBytes) return this.finalBytes.fromClient;
    return this.established ? this.upstream!.bytesWritten : 0;
  }

  get bytesToClients(): number {
    if (this.finalBytes) return this.finalBytes.toClient;
    return this.established ? this.upstream!.bytesRead : 0;
  }

  /**
   * Closes the pair now (a reset where data was unread). A backend still connecting is left to
   * whoever started the connect: its completion closes it.
   */
  destroy(): void {
    if (!this.open) return;
    this.open = false;
    this.finalBytes = {
      client: this.client.bytesRead + this.client.bytesWritten,
      fromClient: this.bytesFromClients,
      toClient: this.bytesToClients,
    };
    this.client.close();
    if (this.established) this.upstream!.close();
    this.hooks.closed(this);
  }

  fail(side: Side, status: number): void {
    if (!this.open) return;
    if (side === "backend" && (status === RESET || status === BROKEN_PIPE)) {
      this.hooks.backendReset(this, `${errorName(status)} from the backend`);
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
    halfClosed.push(flow);
    if (halfClosed.length === 1) setImmediate(passOnHalfCloses);
  }

  /** Called for a queued half-close at the end of the loop turn. */
  passOnHalfClose(flow: Flow): void {
    if (!this.open || this.endedFlows !== 1) return;
    const request = tcpBindings().newShutdownRequest() as FlowRequest;
    request.flow = flow;
    request.oncomplete = afterShutdown;
    const error = flow.to!.shutdown(request);
    if (error !== 0) this.fail(flow.target, error);
  }
}

/**
 * One direction of a splice: reads `from`, writes to `to`. `to` is unset while the backend
 * connects; a client direction then holds what it reads in `early`.
 */
class Flow {
  to: TcpHandle | undefined;
  readonly target: Side;
  private early: Uint8Array[] | undefined;
  private earlyBytes = 0;
  private eof = false;
  private writing = false;
  /** Reading stopped for backpressure (not for the FIN). */
  private paused = false;
  /** readStart() refused while connecting (a libuv that does not allow it): started on connect. */
  private refused = false;
  private bulkBuffer: Buffer | undefined;

  constructor(
    readonly splice: Splice,
    readonly from: TcpHandle,
    readonly source: Side,
  ) {
    this.target = source === "client" ? "backend" : "client";
  }

  start(): void {
    (this.from as FlowHandle).flow = this;
    this.from.onread = onRead;
    this.from.useUserBuffer(sharedReadBuffer);
    this.refused = this.from.readStart() !== 0;
  }

  startIfRefused(): void {
    if (this.refused) this.from.readStart();
    this.refused = false;
  }

  read(): void {
    const result = tcpBindings().readResult();
    if (result > 0) this.data(result);
    else if (result === UV_EOF) this.end();
    else if (result < 0) this.splice.fail(this.source, result);
  }

  private data(length: number): void {
    if (this.bulkBuffer) {
      this.write(this.bulkBuffer.subarray(0, length));
      return;
    }
    if (length === SHARED_READ_BYTES && this.to !== undefined) {
      // Bulk: from now on reads land in a buffer of this direction's own. Switching before the
      // write is safe: the next read comes only once this write has been taken by the kernel.
      this.bulkBuffer = Buffer.allocUnsafe(BULK_BUFFER_BYTES);
      sharedReadBuffer.copy(this.bulkBuffer, 0, 0, length);
      this.from.useUserBuffer(this.bulkBuffer);
      this.write(this.bulkBuffer.subarray(0, length));
      return;
    }
    // Small chunks come from Node's shared allocation pool: no allocation of their own.
    const chunk = Buffer.allocUnsafe(length);
    sharedReadBuffer.copy(chunk, 0, 0, length);
    if (this.to === undefined) this.hold(chunk);
    else this.write(chunk);
  }

  /** Before the backend is connected. */
  private hold(chunk: Uint8Array): void {
    this.early ??= [];
    this.early.push(chunk);
    this.earlyBytes += chunk.length;
    if (this.earlyBytes >= EARLY_BYTES_LIMIT) this.pause();
  }

  flushEarly(): void {
    const early = this.early;
    this.early = undefined;
    if (early !== undefined) {
      const held = early.length === 1 ? early[0]! : Buffer.concat(early);
      if (!this.write(held)) return; // written() carries on
    }
    this.afterWrite();
  }

  private end(): void {
    this.eof = true;
    this.from.readStop();
    if (this.to !== undefined && !this.writing) this.splice.flowEnded(this);
  }

  /** True when the kernel took the whole chunk now; otherwise reading pauses until it has. */
  private write(chunk: Uint8Array): boolean {
    const bindings = tcpBindings();
    const request = spareWriteRequest ?? (bindings.newWriteRequest() as FlowRequest);
    spareWriteRequest = undefined;
    const error = this.to!.writeBuffer(request, chunk);
    if (error !== 0) {
      this.splice.fail(this.target, error);
      return false;
    }
    if (!bindings.lastWriteWasAsync()) {
      // libuv never saw a request whose write completed at once: the same object serves the next.
      spareWriteRequest = request;
      return true;
    }
    // Kept alive (a copy) and not overwritten (a bulk buffer) until the kernel has it.
    request.chunk = chunk;
    request.flow = this;
    request.oncomplete = afterWrite;
    this.writing = true;
    this.pause();
    return false;
  }

  written(status: number): void {
    this.writing = false;
    if (status < 0) this.splice.fail(this.target, status);
    else if (this.splice.open) this.afterWrite();
  }

  /** Nothing of this direction is in flight: end it if its FIN came, else (go on) reading. */
  private afterWrite(): void {
    if (this.eof) {
      this.splice.flowEnded(this);
    } else if (this.paused) {
      this.paused = false;
      this.from.readStart();
    }
  }

  private pause(): void {
    this.paused = true;
    this.from.readStop();
  }
}

/** A write request whose write completed at once, so libuv never took it: reused for the next. */
let spareWriteRequest: FlowRequest | undefined;

const halfClosed: Flow[] = [];

function passOnHalfCloses(): void {
  for (const flow of halfClosed.splice(0)) flow.splice.passOnHalfClose(flow);
}

function onRead(this: FlowHandle): undefined {
  this.flow!.read();
  return undefined;
}

function afterWrite(this: FlowRequest, status: number): void {
  this.chunk = undefined;
  this.flow!.written(status);
}

function afterShutdown(this: FlowRequest, status: number): void {
  if (status < 0) this.flow!.splice.fail(this.flow!.target, status);
}

const RESET = -constants.errno.ECONNRESET;
const BROKEN_PIPE = -constants.errno.EPIPE;
