/**
 * Joins a client handle and a backend handle: bytes are copied both ways untouched, a FIN is
 * passed on as a FIN (half-close) while the other direction keeps flowing, and the pair is closed
 * when both directions have ended or either side fails.
 *
 * Backpressure: a direction reads only while its previous write has been taken by the kernel. A
 * write the kernel could not take at once stops reading from the source until it completes, so
 * a slow reader holds at most one read buffer here and the TCP windows throttle the sender.
 */
import { constants } from "node:os";
import { errorName, type TcpHandle, tcpBindings, UV_EOF } from "./tcp-handle.js";

/**
 * A direction starts on Node's per-read allocation (no memory held by idle connections); after a
 * read that fills it — a bulk transfer — it switches to one reusable buffer of this size, which
 * saves the allocation per read and lets the kernel hand over more per system call.
 */
const BULK_THRESHOLD = 64 * 1024;
const BULK_BUFFER_BYTES = 256 * 1024;

export interface SpliceHooks {
  /** The pair closed; the byte counts are final. */
  closed(): void;
  /** The backend reset the connection (or failed a write with a reset). */
  backendReset(reason: string): void;
}

export class Splice {
  private open = true;
  private endedDirections = 0;
  private finalBytes: { client: number; fromClient: number; toClient: number } | undefined;

  constructor(
    private readonly client: TcpHandle,
    private readonly backend: TcpHandle,
    private readonly hooks: SpliceHooks,
  ) {}

  start(): void {
    this.forward(this.client, this.backend, "client");
    this.forward(this.backend, this.client, "backend");
  }

  /** Client bytes read plus written: the idle sweep's activity counter. */
  get clientBytes(): number {
    if (this.finalBytes) return this.finalBytes.client;
    return this.client.bytesRead + this.client.bytesWritten;
  }

  get bytesFromClients(): number {
    return this.finalBytes ? this.finalBytes.fromClient : this.backend.bytesWritten;
  }

  get bytesToClients(): number {
    return this.finalBytes ? this.finalBytes.toClient : this.backend.bytesRead;
  }

  /** Closes both sides now (a reset where data was unread). */
  destroy(): void {
    if (!this.open) return;
    this.open = false;
    this.finalBytes = {
      client: this.client.bytesRead + this.client.bytesWritten,
      fromClient: this.backend.bytesWritten,
      toClient: this.backend.bytesRead,
    };
    this.client.close();
    this.backend.close();
    this.hooks.closed();
  }

  private fail(side: "client" | "backend", status: number): void {
    if (!this.open) return;
    if (side === "backend" && (status === RESET || status === BROKEN_PIPE)) {
      this.hooks.backendReset(`${errorName(status)} from the backend`);
    }
    this.destroy();
  }

  private forward(from: TcpHandle, to: TcpHandle, source: "client" | "backend"): void {
    const bindings = tcpBindings();
    const target = source === "client" ? "backend" : "client";
    let buffer: Buffer | undefined;
    const written = (status: number) => {
      if (status < 0) this.fail(target, status);
      else if (this.open) from.readStart();
    };
    const onData = (arrayBuffer: ArrayBuffer | undefined, length: number) => {
      const chunk = buffer ? buffer.subarray(0, length) : new Uint8Array(arrayBuffer!, bindings.readOffset(), length);
      // A request per write, as Node's own streams do: libuv owns an in-flight one until it completes.
      const write = bindings.newWriteRequest();
      write.oncomplete = written;
      const error = to.writeBuffer(write, chunk);
      if (error !== 0) {
        this.fail(target, error);
      } else if (bindings.lastWriteWasAsync()) {
        // Kept alive (Node's per-read allocation) and not overwritten (ours) until the kernel has it.
        write.chunk = chunk;
        from.readStop();
      } else if (!buffer && length >= BULK_THRESHOLD) {
        // Safe to give the kernel a buffer we own from now on: nothing of ours is in flight.
        buffer = Buffer.allocUnsafe(BULK_BUFFER_BYTES);
        from.useUserBuffer(buffer);
      }
    };
    const onEnd = () => {
      from.readStop();
      // The other way has ended already: with nothing left unread on either side, closing both
      // passes this FIN on (after any data still queued) — one system call fewer per connection.
      if (this.endedDirections === 1) return this.destroy();
      const shutdown = bindings.newShutdownRequest();
      shutdown.oncomplete = (status) => {
        if (status < 0) this.fail(target, status);
        else if (++this.endedDirections === 2) this.destroy();
      };
      const error = to.shutdown(shutdown);
      if (error !== 0) this.fail(target, error);
    };
    from.onread = (arrayBuffer) => {
      const result = bindings.readResult();
      if (result > 0) onData(arrayBuffer, result);
      else if (result === UV_EOF) onEnd();
      else if (result < 0) this.fail(source, result);
      return undefined;
    };
    from.readStart();
  }
}

const RESET = -constants.errno.ECONNRESET;
const BROKEN_PIPE = -constants.errno.EPIPE;
