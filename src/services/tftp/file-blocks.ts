import type { promises as fsPromises } from "node:fs";
import { OPCODE } from "./wire.js";

/**
 * The DATA packets of one file served, built a chunk at a time: the file is read in large pieces
 * and laid out as ready packets (header, then the block's bytes), so sending a block is writing
 * its number and handing one slice to the socket. A chunk's memory is never reused for another
 * chunk: a packet sent from it may still be queued.
 */
export class FileBlocks {
  private packets = Buffer.alloc(0);
  private firstBlock = 0;
  private blockCount = 0;
  /** Where the file's bytes land before being laid out; only ever read from here, so it is reused. */
  private staging = Buffer.alloc(0);

  constructor(
    private readonly handle: fsPromises.FileHandle,
    private readonly blksize: number,
    private readonly lastBlock: number,
    private readonly range: (block: number) => { offset: number; length: number },
    private readonly chunkBytes: number,
  ) {}

  covers(first: number, last: number): boolean {
    return first >= this.firstBlock && last < this.firstBlock + this.blockCount;
  }

  /** Lays out blocks first..last and as many after them as a chunk holds; rejects when the file has become shorter. */
  async load(first: number, last: number): Promise<void> {
    const upTo = Math.min(this.lastBlock, Math.max(last, first + Math.floor(this.chunkBytes / this.blksize) - 1));
    const start = this.range(first).offset;
    const end = this.range(upTo).offset + this.range(upTo).length;
    if (this.staging.length < end - start) this.staging = Buffer.allocUnsafe(end - start);
    let filled = 0;
    while (filled < end - start) {
      const { bytesRead } = await this.handle.read(this.staging, filled, end - start - filled, start + filled);
      if (bytesRead === 0) throw new Error("the file became shorter while it was being sent");
      filled += bytesRead;
    }
    const slot = 4 + this.blksize;
    const packets = Buffer.allocUnsafe((upTo - first + 1) * slot);
    for (let block = first; block <= upTo; block++) {
      const at = (block - first) * slot;
      const { offset, length } = this.range(block);
      packets.writeUInt16BE(OPCODE.DATA, at);
      this.staging.copy(packets, at + 4, offset - start, offset - start + length);
    }
    this.packets = packets;
    this.firstBlock = first;
    this.blockCount = upTo - first + 1;
  }

  /** The DATA packet of a block within what covers() said is loaded, numbered for the wire. */
  packet(block: number): Buffer {
    const at = (block - this.firstBlock) * (4 + this.blksize);
    const packet = this.packets.subarray(at, at + 4 + this.range(block).length);
    packet.writeUInt16BE(block & 0xffff, 2);
    return packet;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}
