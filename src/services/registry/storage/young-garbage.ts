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

/** Notes `bytes` of short-lived buffers; collects the young generation when enough piled up. */
export function noteYoungGarbage(bytes: number): void {
  pending += bytes;
  if (pending < YOUNG_GARBAGE_BYTES) return;
  pending = 0;
  collect({ type: "minor", execution: "sync" });
}
