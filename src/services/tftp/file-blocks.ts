import type { promises as fsPromises } from "node:fs";

/**
 * The bytes of one file served, read in large chunks so most blocks are slices of memory already
 * read. A chunk is never reused for another read: a block sent from it may still be queued.
 */
export class FileBlocks {
  private chunk = Buffer.alloc(0);
  private chunkStart = 0;

  constructor(
    private readonly handle: fsPromises.FileHandle,
    private readonly size: number,
    private readonly chunkBytes: number,
  ) {}

  covers(start: number, end: number): boolean {
    return start >= this.chunkStart && end <= this.chunkStart + this.chunk.length;
  }

  /** Reads [start, end) and more after it; rejects when the file has become shorter. */
  async load(start: number, end: number): Promise<void> {
    const length = Math.min(Math.max(this.chunkBytes, end - start), this.size - start);
    const chunk = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await this.handle.read(chunk, filled, length - filled, start + filled);
      if (bytesRead === 0) throw new Error("the file became shorter while it was being sent");
      filled += bytesRead;
    }
    this.chunk = chunk;
    this.chunkStart = start;
  }

  /** A block's bytes; only within what covers() said is loaded. */
  slice(offset: number, length: number): Buffer {
    const from = offset - this.chunkStart;
    return this.chunk.subarray(from, from + length);
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}
