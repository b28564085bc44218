import type { FileHandle } from "node:fs/promises";
import type { ServerResponse } from "node:http";

/**
 * Sends bytes `start..end` (inclusive) of an open file as the body of `res`, then ends it.
 *
 * Two 1 MiB buffers are read into in turn, each reused once the socket has taken its previous
 * write, instead of a read stream's fresh buffer per chunk: no allocation or garbage per
 * megabyte, the next read overlaps the current write, and at most 2 MiB are in flight per
 * response (waiting for the older write is the backpressure). Measured on loopback, 1 MiB
 * costs the least CPU per gigabyte served; 256 KiB and 4 MiB both cost more.
 */
const CHUNK_BYTES = 1 << 20;

export async function sendFileRange(file: FileHandle, start: number, end: number, res: ServerResponse): Promise<void> {
  const gone = clientGone(res);
  try {
    const buffers = [Buffer.allocUnsafeSlow(CHUNK_BYTES), Buffer.allocUnsafeSlow(CHUNK_BYTES)];
    const inFlight: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
    let position = start;
    for (let turn = 0; position <= end; turn ^= 1) {
      await Promise.race([inFlight[turn], gone.promise]);
      const buffer = buffers[turn]!;
      const { bytesRead } = await file.read(buffer, 0, Math.min(CHUNK_BYTES, end - position + 1), position);
      if (bytesRead === 0) throw new Error(`blob file ended at byte ${position}, expected ${end + 1}`);
      position += bytesRead;
      inFlight[turn] = written(res, buffer.subarray(0, bytesRead));
    }
    await Promise.race([Promise.all(inFlight), gone.promise]);
    res.end();
  } finally {
    gone.dispose();
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

/** Rejects when the connection closes mid-body, so the loop never waits on a dead socket. */
function clientGone(res: ServerResponse): { promise: Promise<never>; dispose(): void } {
  let onClose = () => {};
  const promise = new Promise<never>((_, reject) => {
    onClose = () => reject(Object.assign(new Error("client closed the connection"), { code: "ECONNRESET" }));
    res.once("close", onClose);
  });
  promise.catch(() => undefined);
  return { promise, dispose: () => res.off("close", onClose) };
}
