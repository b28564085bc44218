import type { FileHandle } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import type { BodySlot, BodySlots } from "./body-slots.js";
import { withoutIdleTimeout } from "./server.js";

/**
 * Sends bytes `start..end` (inclusive) of an open file as the body of `res`, then ends it.
 *
 * Two 1 MiB buffers are read into in turn, each reused once the socket has taken its previous
 * write, instead of a read stream's fresh buffer per chunk: no allocation or garbage per
 * megabyte, the next read overlaps the current write, and at most 2 MiB are in flight per
 * response (waiting for the older write is the backpressure). Measured on loopback, 1 MiB
 * costs the least CPU per gigabyte served; 256 KiB and 4 MiB both cost more.
 *
 * A body longer than one read waits for a slot of its client first (see body-slots.ts).
 */
export const CHUNK_BYTES = 1 << 20;

export async function sendFileRange(
  file: FileHandle,
  range: { start: number; end: number },
  res: ServerResponse,
  queue: { slots: BodySlots; client: string },
): Promise<void> {
  const left = clientLeft(res);
  let slot: BodySlot | undefined;
  try {
    if (range.end - range.start + 1 > CHUNK_BYTES) {
      slot = await withoutIdleTimeout(res.socket, () => queue.slots.acquire(queue.client, left.signal));
    }
    const buffers = [Buffer.allocUnsafeSlow(CHUNK_BYTES), Buffer.allocUnsafeSlow(CHUNK_BYTES)];
    const inFlight: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
    let position = range.start;
    for (let turn = 0; position <= range.end; turn ^= 1) {
      await Promise.race([inFlight[turn], left.promise]);
      slot?.progressed();
      const buffer = buffers[turn]!;
      const { bytesRead } = await file.read(buffer, 0, Math.min(CHUNK_BYTES, range.end - position + 1), position);
      if (bytesRead === 0) throw new Error(`blob file ended at byte ${position}, expected ${range.end + 1}`);
      position += bytesRead;
      inFlight[turn] = written(res, buffer.subarray(0, bytesRead));
    }
    await Promise.race([Promise.all(inFlight), left.promise]);
    res.end();
  } finally {
    slot?.release();
    left.dispose();
  }
}

function written(res: ServerResponse, chunk: Buffer): Promise<void> {
  const done = new Promise<void>((resolve, reject) => {
    res.write(chunk, (error) => (error ? reject(error) : resolve()));
  });
  // Awaited on the next turn, or never when the client left first: it must not go unhandled.
  done.catch(() => undefined);
  return done;
}

/** Aborts (and rejects) when the connection closes mid-body, so nothing waits on a dead socket. */
function clientLeft(res: ServerResponse): { signal: AbortSignal; promise: Promise<never>; dispose(): void } {
  const controller = new AbortController();
  const onClose = () =>
    controller.abort(Object.assign(new Error("client closed the connection"), { code: "ECONNRESET" }));
  const promise = new Promise<never>((_, reject) => {
    controller.signal.addEventListener("abort", () => reject(controller.signal.reason), { once: true });
  });
  promise.catch(() => undefined);
  // The client may have gone while the blob was being opened: 'close' will not come again.
  if (res.destroyed) onClose();
  else res.once("close", onClose);
  return { signal: controller.signal, promise, dispose: () => res.off("close", onClose) };
}
