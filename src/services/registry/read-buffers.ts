/**
 * The buffers blob bodies are read into, lent per body and reused across bodies, so their memory
 * follows the number of bodies streaming at once and nothing is allocated (or left to the
 * collector) per body.
 *
 * While at most `roomyBodies` stream, each gets two 512 KiB buffers that take turns (the next
 * read overlaps the current write). Beyond that — ten nodes pulling three layers each — and for
 * bodies of one read (configs), a body gets one 128 KiB buffer: its read no longer overlaps its
 * own write, but the other bodies keep the socket and the disk busy meanwhile, and 30 bodies hold
 * ~7 MiB. 512 KiB halves what a skopeo pull holds against 1 MiB (peak RSS 74 vs 78 MB) at the
 * same server CPU per gigabyte (docs/registry.md).
 *
 * Given-back buffers are kept for the next bodies up to `maxFreeBytes`, which should cover the
 * busiest moment: a buffer dropped has lived through many young collections, so it sits in V8's
 * old generation until a full collection, and the next bodies allocate new ones on top of it
 * (10 nodes peaked ~10 MB higher while only 2 MiB were kept).
 */
export interface ReadBuffers {
  /** Buffers for a body of `bytes`. */
  lend(bytes: number): Buffer[];
  /** Ends a loan; `reusable` only if no write of the buffers is still queued. */
  giveBack(buffers: Buffer[], reusable: boolean): void;
}

export const ROOMY_BUFFER_BYTES = 512 << 10;
export const TIGHT_BUFFER_BYTES = 128 << 10;

export function createReadBuffers(options: { roomyBodies: number; maxFreeBytes: number }): ReadBuffers {
  const free = new Map<number, Buffer[]>([
    [ROOMY_BUFFER_BYTES, []],
    [TIGHT_BUFFER_BYTES, []],
  ]);
  let freeBytes = 0;
  let roomyLent = 0;
  const take = (size: number) => {
    const buffer = free.get(size)!.pop();
    if (!buffer) return Buffer.allocUnsafeSlow(size);
    freeBytes -= size;
    return buffer;
  };
  return {
    lend(bytes) {
      if (bytes <= TIGHT_BUFFER_BYTES || roomyLent >= options.roomyBodies) return [take(TIGHT_BUFFER_BYTES)];
      roomyLent += 1;
      return [take(ROOMY_BUFFER_BYTES), take(ROOMY_BUFFER_BYTES)];
    },
    giveBack(buffers, reusable) {
      if (buffers[0]!.length === ROOMY_BUFFER_BYTES) roomyLent -= 1;
      if (!reusable) return;
      for (const buffer of buffers) {
        if (freeBytes + buffer.length > options.maxFreeBytes) continue;
        free.get(buffer.length)!.push(buffer);
        freeBytes += buffer.length;
      }
    },
  };
}
