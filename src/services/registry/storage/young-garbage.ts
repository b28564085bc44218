import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * Every chunk an upload receives is a fresh 64 KiB buffer from the socket, garbage a moment
 * later. V8 collects them only when its young generation fills with *objects*, and a buffer's
 * object is tiny: at 300 MB/s some 30 MB of dead buffers piled up between collections, and the
 * allocator kept that memory as the process's own (peak RSS ~97 MB for a 1 GiB push, ~56 MB of
 * it idle). A young-generation collection after every `YOUNG_GARBAGE_BYTES` received keeps the
 * pile small; it costs well under a millisecond, since the young generation is almost empty.
 */
export const YOUNG_GARBAGE_BYTES = 4 << 20;

setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as (options: { type: "minor"; execution: "sync" }) => void;
let pending = 0;

/**
 * Keeps V8's young generation at its starting size for the rest of the process. V8 doubles it
 * whenever the bytes surviving young collections since the last growth exceed its size, and a
 * registry's survivors are the requests in flight (and every forced collection above counts
 * too), so under load it grew from ~15 to 21–29 MB of heap (measured with
 * `process.memoryUsage()` during issue 20's bench) and stayed. `--max-semi-space-size` would
 * cap it, but only on the command line, where it also makes the single executable reject its
 * code cache (V8 checks the flags it was made with); the growth factor is read at every growth,
 * so setting it to 1 here holds the size. For the long-running `registry serve` only: a process
 * whose survivors are many (planning, bundles) would collect far more often.
 */
export function keepYoungGenerationSmall(): void {
  setFlagsFromString("--semi-space-growth-factor=1");
}

/** Notes `bytes` of short-lived buffers; collects the young generation when enough piled up. */
export function noteYoungGarbage(bytes: number): void {
  pending += bytes;
  if (pending < YOUNG_GARBAGE_BYTES) return;
  pending = 0;
  collect({ type: "minor", execution: "sync" });
}
