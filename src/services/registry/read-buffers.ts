/**
 * The buffers blob bodies are read into, lent per body and reused across bodies, so their memory
 * follows the number of bodies streaming at once and nothing is allocated (or left to the
 * collector) per body.
 *
 * While at most `roomyBodies` stream, each gets two 1 MiB buffers that take turns (the next read
 * overlaps the current write; 1 MiB costs the least CPU per gigabyte, docs/registry.md). Beyond
 * that — ten nodes pulling three layers each — a body gets one 512 KiB buffer: its read no longer
 * overlaps its own write, but the other bodies keep the socket and the disk busy meanwhile, and
 * 30 bodies hold 15 MiB instead of 60 MiB.
 */
export interface ReadBuffers {
  lend(): Buffer[];
  /** Ends a loan; pass the buffers only if no write of them is still queued, else []. */
  giveBack(buffers: Buffer[]): void;
}

export const ROOMY_BUFFER_BYTES = 1 << 20;
export const TIGHT_BUFFER_BYTES = 512 << 10;

export function createReadBuffers(options: { roomyBodies: number; maxFreeBytes: number }): ReadBuffers {
  const free = new Map<number, Buffer[]>([
    [ROOMY_BUFFER_BYTES, []],
    [TIGHT_BUFFER_BYTES, []],
  ]);
  let freeBytes = 0;
  let lent = 0;
  const take = (size: number) => {
    const buffer = free.get(size)!.pop();
    if (!buffer) return Buffer.allocUnsafeSlow(size);
    freeBytes -= size;
    return buffer;
  };
  return {
    lend() {
      lent += 1;
      if (lent <= options.roomyBodies) return [take(ROOMY_BUFFER_BYTES), take(ROOMY_BUFFER_BYTES)];
      return [take(TIGHT_BUFFER_BYTES)];
    },
    giveBack(buffers) {
      lent -= 1;
      for (const buffer of buffers) {
        if (freeBytes + buffer.length > options.maxFreeBytes) continue;
        free.get(buffer.length)!.push(buffer);
        freeBytes += buffer.length;
      }
    },
  };
}
