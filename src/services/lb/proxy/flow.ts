/**
 * One direction of a splice: reads one handle, writes what it read to the other. Its backpressure
 * rule: it reads only while its previous write has been taken by the kernel.
 *
 * No closures per connection: every handle and request shares one callback (`onRead`,
 * `afterWrite`) and finds its direction through a property.
 */
import { type Borrower, BufferPool } from "./buffer-pool.js";
import { type ShutdownRequest, type TcpHandle, tcpBindings, UV_EOF, type WriteRequest } from "./tcp-handle.js";

/**
 * Every direction starts reading into one buffer shared by all connections (no memory held by
 * idle connections, no allocation per read; the next read of any connection overwrites it, so a
 * chunk is copied out before it is written or held). After a read that fills it — a bulk
 * transfer — the direction borrows a bigger buffer from the process's pool (buffer-pool.ts),
 * which saves the copy and lets the kernel hand over more per system call, and gives it back
 * when it goes idle.
 *
 * Memory: a chunk waits in memory only while its write is in flight (the peer's kernel buffer is
 * full); then its direction reads nothing more. So a connection holds at most one shared-size
 * chunk per direction, plus what its client sent before the backend was connected (under
 * EARLY_BYTES_LIMIT + one read) — and bulk buffers are bounded by the pool, not per connection.
 */
const SHARED_READ_BYTES = 16 * 1024;
const sharedReadBuffer = Buffer.allocUnsafe(SHARED_READ_BYTES);
/** 256 buffers of 256 KiB: 64 MiB at most, for every connection of the process together. */
export const bulkBuffers = new BufferPool(256 * 1024, 256, 16, 1000);
/** What the client may send before its backend is connected; reading pauses beyond it. */
const EARLY_BYTES_LIMIT = 16 * 1024;

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
export class Flow implements Borrower {
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
  /** The source's read count at the last sweep of the pool: unchanged means idle. */
  private bytesAtSweep = -1;
  private closed = false;

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
      // Bulk: from now on reads land in a borrowed buffer. Switching before the write is safe:
      // the next read comes only once this write has been taken by the kernel.
      const bulk = bulkBuffers.take(this);
      if (bulk !== undefined) {
        this.bulkBuffer = bulk;
        this.bytesAtSweep = -1;
        sharedReadBuffer.copy(bulk, 0, 0, length);
        this.from.useUserBuffer(bulk);
        this.write(bulk.subarray(0, length));
        return;
      }
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
    if (!this.writing) this.giveBackBuffer(false);
    if (this.to !== undefined && !this.writing) this.splice.flowEnded(this);
  }

  /** The pair closed its handles: nothing more is read, the buffer goes back once no write needs it. */
  close(): void {
    this.closed = true;
    if (!this.writing) this.giveBackBuffer(false);
  }

  /** From the pool's sweep: a direction that read nothing since the last sweep gives its buffer back. */
  sweep(): void {
    // Closed with a write in flight: libuv cancels that write and touches the buffer no more.
    if (this.closed) {
      this.giveBackBuffer(false);
      return;
    }
    const bytes = this.from.bytesRead;
    if (bytes === this.bytesAtSweep && !this.writing) this.giveBackBuffer(true);
    else this.bytesAtSweep = bytes;
  }

  private giveBackBuffer(readOnShared: boolean): void {
    const buffer = this.bulkBuffer;
    if (buffer === undefined) return;
    this.bulkBuffer = undefined;
    if (readOnShared) this.from.useUserBuffer(sharedReadBuffer);
    bulkBuffers.give(this, buffer);
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
    if (this.closed || this.eof) this.giveBackBuffer(false);
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
