/**
 * One direction of a splice: reads one handle, writes what it read to the other. Its backpressure
 * rule: it reads only while its previous write has been taken by the kernel.
 *
 * No closures per connection: every handle and request shares one callback (`onRead`,
 * `afterWrite`) and finds its direction through a property.
 */
import { type ShutdownRequest, type TcpHandle, tcpBindings, UV_EOF, type WriteRequest } from "./tcp-handle.js";

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

export type Side = "client" | "backend";

/** The pair a direction belongs to (a Splice). */
export interface FlowOwner {
  readonly open: boolean;
  fail(side: Side, status: number): void;
  /** This direction's FIN was read and every write of it taken by the kernel. */
  flowEnded(flow: Flow): void;
}

interface FlowHandle extends TcpHandle {
  flow?: Flow;
}

export interface FlowRequest extends WriteRequest, ShutdownRequest {
  flow?: Flow;
}

/**
 * One direction of a splice: reads `from`, writes to `to`. `to` is unset while the backend
 * connects; a client direction then holds what it reads in `early`.
 */
export class Flow {
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
    readonly splice: FlowOwner,
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

function onRead(this: FlowHandle): undefined {
  this.flow!.read();
  return undefined;
}

function afterWrite(this: FlowRequest, status: number): void {
  this.chunk = undefined;
  this.flow!.written(status);
}
