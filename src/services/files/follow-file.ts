import { type FileHandle, open } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

/** A file that may still be arriving: its bytes go to `partPath` first, which is renamed to `path` once verified. */
export interface ArrivingFile {
  path: string;
  partPath: string;
  size: number;
}

export interface FollowOptions {
  /** Give up when no new byte has appeared for this long (the upstream transfer died). */
  stallMs: number;
  pollMs: number;
}

export class FileStalled extends Error {
  constructor(path: string, at: number, size: number, stallMs: number) {
    super(`${path}: no new bytes for ${stallMs} ms at ${at} of ${size}`);
    this.name = "FileStalled";
  }
}

/**
 * Bytes start..end of a file that is being written while it is read, as they land: the relay's way
 * of passing a download on to the next host before it has finished. Opens the part file (or the
 * finished file, once renamed); an open handle survives the rename, so reading simply continues.
 * Whoever receives the bytes checks the SHA-256 — this only moves them.
 */
export async function* followFile(
  file: ArrivingFile,
  start: number,
  end: number,
  options: FollowOptions,
): AsyncGenerator<Buffer> {
  let lastProgress = Date.now();
  const stalled = () => Date.now() - lastProgress > options.stallMs;
  let handle: FileHandle | undefined;
  while (!handle) {
    handle = await openArriving(file);
    if (handle) break;
    if (stalled()) throw new FileStalled(file.path, start, file.size, options.stallMs);
    await sleep(options.pollMs);
  }
  try {
    let position = start;
    // A chunk is handed on with each yield, so a new one follows a read that filled one; a read
    // at the growing end that found nothing keeps it for the next poll.
    let chunk: Buffer | undefined;
    while (position <= end) {
      chunk ??= Buffer.allocUnsafe(Math.min(1024 * 1024, end - position + 1));
      const { bytesRead } = await handle.read(chunk, 0, Math.min(chunk.length, end - position + 1), position);
      if (bytesRead > 0) {
        position += bytesRead;
        lastProgress = Date.now();
        const filled = bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead);
        chunk = undefined;
        yield filled;
        continue;
      }
      if (stalled()) throw new FileStalled(file.path, position, file.size, options.stallMs);
      await sleep(options.pollMs);
    }
  } finally {
    await handle.close();
  }
}

/** The part file while it arrives; the finished file once it is complete; nothing yet otherwise. */
async function openArriving(file: ArrivingFile): Promise<FileHandle | undefined> {
  for (const [path, complete] of [
    [file.partPath, false],
    [file.path, true],
  ] as const) {
    try {
      const handle = await open(path, "r");
      if (!complete || (await handle.stat()).size === file.size) return handle;
      await handle.close();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  }
  return undefined;
}
