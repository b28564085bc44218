import { Writable } from "node:stream";

/** What a command may print into memory, per stream, unless the host is told otherwise (8 MiB). */
export const DEFAULT_MAX_OUTPUT_BYTES = 8 * 2 ** 20;

/** Of what is kept, the start of the output (what the command said first); the rest is its end. */
const HEAD_SHARE = 1 / 8;

export interface CappedOutput {
  sink: Writable;
  /** What was kept: all of it, or its first and last bytes with a marked gap between them. */
  buffer(): Buffer;
  text(): string;
  /** How many bytes the command printed in all. */
  total(): number;
  /** How many bytes were left out (0: nothing was). */
  dropped(): number;
}

/**
 * Collects a command's output up to `maxBytes`: beyond that it keeps the first eighth and the last
 * seven eighths (the end usually says why a command failed) and drops the middle, so a command that
 * prints without end cannot exhaust this process's memory. The kept text marks the gap and says how
 * much is missing.
 */
export function cappedOutput(maxBytes = DEFAULT_MAX_OUTPUT_BYTES): CappedOutput {
  const headMax = Math.floor(maxBytes * HEAD_SHARE);
  const tailMax = maxBytes - headMax;
  const head: Buffer[] = [];
  let headBytes = 0;
  let tail: Buffer[] = [];
  let tailBytes = 0;
  let total = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      total += chunk.length;
      let rest = chunk;
      if (headBytes < headMax) {
        const taken = rest.subarray(0, headMax - headBytes);
        head.push(taken);
        headBytes += taken.length;
        rest = rest.subarray(taken.length);
      }
      if (rest.length > 0) {
        tail.push(rest.length > tailMax ? rest.subarray(rest.length - tailMax) : rest);
        tailBytes += Math.min(rest.length, tailMax);
        while (tailBytes > tailMax) {
          const first = tail[0]!;
          const excess = tailBytes - tailMax;
          if (first.length <= excess) {
            tail.shift();
            tailBytes -= first.length;
          } else {
            tail[0] = first.subarray(excess);
            tailBytes -= excess;
          }
        }
        // Keep the chunk list short when a command writes many small pieces.
        if (tail.length > 1024) tail = [Buffer.concat(tail)];
      }
      done();
    },
  });
  const dropped = () => total - headBytes - tailBytes;
  const buffer = () => {
    if (dropped() === 0) return Buffer.concat([...head, ...tail]);
    const marker = `\n[airstrap: ${dropped()} bytes left out here: the command printed ${total} bytes, more than the ${mebibytes(maxBytes)} kept of each output (its first ${mebibytes(headMax)} and its last ${mebibytes(tailMax)})]\n`;
    return Buffer.concat([...head, Buffer.from(marker), ...tail]);
  };
  return { sink, buffer, text: () => buffer().toString("utf8"), total: () => total, dropped };
}

export function mebibytes(bytes: number): string {
  return `${Number((bytes / 2 ** 20).toFixed(2))} MiB`;
}
