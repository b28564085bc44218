import type { FileHandle } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import type { BodySlot, BodySlots } from "./body-slots.js";
import { createReadBuffers, ROOMY_BUFFER_BYTES } from "./read-buffers.js";
import { withoutIdleTimeout } from "./server.js";

/**
 * Sends bytes `start..end` (inclusive) of an open file as the body of `res`, then ends it.
 *
 * The buffers (two 1 MiB ones taking turns, or one of 256 KiB when many bodies stream; see
 * read-buffers.ts) are read into in turn, each reused once the socket has taken its previous
 * write, instead of a read stream's fresh buffer per chunk: no allocation or garbage per
 * megabyte, and waiting for the older write is the backpressure.
 *
 * A body longer than one read waits for a slot of its client first (see body-slots.ts).
 */
export const CHUNK_BYTES = ROOMY_BUFFER_BYTES;
/** Every response of the process lends from here; at most 4 MiB are kept unused. */
const readBuffers = createReadBuffers({ roomyBodies: 3, maxFreeBytes: 4 << 20 });

export async function sendFileRange(
  file: FileHandle,
  range: { start: number; end: number },
  res: ServerResponse,
  queue: { slots: BodySlots; client: string },
): Promise<void> {
  const left = clientLeft(res);
  let slot: BodySlot | undefined;
  let buffers: Buffer[] | undefined;
  let written = false;
  try {
    if (range.end - range.start + 1 > CHUNK_BYTES) {
      slot = await withoutIdleTimeout(res.socket, () => queue.slots.acquire(queue.client, left.signal));
    }
    buffers = readBuffers.lend(range.end - range.start + 1);
    const inFlight: Promise<void>[] = buffers.map(() => Promise.resolve());
    let position = range.start;
    for (let turn = 0; position <= range.end; turn = (turn + 1) % buffers.length) {
      await Promise.race([inFlight[turn], left.promise]);
      slot?.progressed();
      const buffer = buffers[turn]!;
      const length = Math.min(buffer.length, range.end - position + 1);
      const { bytesRead } = await file.read(buffer, 0, length, position);
      if (bytesRead === 0) throw new Error(`blob file ended at byte ${position}, expected ${range.end + 1}`);
      position += bytesRead;
      inFlight[turn] = writeChunk(res, buffer.subarray(0, bytesRead));
    }
    await Promise.race([Promise.all(inFlight), left.promise]);
    written = true;
    res.end();
  } finally {
    // Reused only when every write took its bytes: one still queued to a dead socket is dropped.
    if (buffers) readBuffers.giveBack(buffers, written);
    slot?.release();
    left.dispose();
  }
}

function writeChunk(res: ServerResponse, chunk: Buffer): Promise<void> {
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
