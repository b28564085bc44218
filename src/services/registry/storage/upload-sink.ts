import { type FileHandle, open } from "node:fs/promises";
import { Writable } from "node:stream";
import { noteYoungGarbage } from "./young-garbage.js";

/**
 * Appends an upload's bytes to its session file. Every chunk is shown to `observe` (the running
 * digest) the moment it arrives, in order; the chunks themselves are gathered into 1 MiB batches
 * and written with one writev each. A socket hands over 64 KiB at a time, so writing each chunk
 * on its own cost about a thousand thread-pool round trips per 64 MiB, which profiling showed as
 * the upload path's largest single cost. Every 32 MiB a datasync starts behind the writes, so the
 * fsync before publishing finds little left to flush; at most one runs at a time.
 */
const BATCH_BYTES = 1 << 20;
const EARLY_FLUSH_BYTES = 32 * 1024 * 1024;

export class UploadSink extends Writable {
  #handle: FileHandle | undefined;
  #batch: Buffer[] = [];
  #batchBytes = 0;
  #unflushed = 0;
  #flushing: Promise<void> | undefined;

  constructor(
    private readonly path: string,
    private readonly observe: (chunk: Buffer) => void,
  ) {
    super({ highWaterMark: BATCH_BYTES });
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.path, "a").then((handle) => {
      this.#handle = handle;
      callback();
    }, callback);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.observe(chunk);
    this.#batch.push(chunk);
    this.#batchBytes += chunk.length;
    if (this.#batchBytes < BATCH_BYTES) {
      callback();
      return;
    }
    this.#writeBatch().then(() => {
      noteYoungGarbage(BATCH_BYTES);
      callback();
    }, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#writeBatch()
      .then(() => this.#flushing)
      .then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const handle = this.#handle;
    this.#handle = undefined;
    if (!handle) {
      callback(error);
      return;
    }
    // close() waits for a datasync still running on the handle.
    handle.close().then(
      () => callback(error),
      (closeError: Error) => callback(error ?? closeError),
    );
  }

  async #writeBatch(): Promise<void> {
    const handle = this.#handle!;
    let pending = this.#batch;
    const bytes = this.#batchBytes;
    this.#batch = [];
    this.#batchBytes = 0;
    while (pending.length > 0) {
      const { bytesWritten } = await handle.writev(pending);
      pending = remainderAfter(pending, bytesWritten);
    }
    this.#unflushed += bytes;
    if (this.#unflushed >= EARLY_FLUSH_BYTES && !this.#flushing) {
      this.#unflushed = 0;
      this.#flushing = handle.datasync().finally(() => {
        this.#flushing = undefined;
      });
      // Awaited by _final; a failure here surfaces there (or in the fsync before publishing).
      this.#flushing.catch(() => undefined);
    }
  }
}

/** What is left of `buffers` after the first `written` bytes went out (a short writev). */
export function remainderAfter(buffers: Buffer[], written: number): Buffer[] {
  let skip = written;
  const rest: Buffer[] = [];
  for (const buffer of buffers) {
    if (skip >= buffer.length) {
      skip -= buffer.length;
      continue;
    }
    rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
    skip = 0;
  }
  return rest;
}
