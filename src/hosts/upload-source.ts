import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { UploadSource } from "./host.js";

/** A local file as an upload source; its SHA-256 is computed here unless the caller already knows it (a store blob). */
export async function fileSource(path: string, sha256?: string): Promise<UploadSource> {
  const info = await stat(path);
  let digest = sha256;
  if (digest === undefined) {
    const hash = createHash("sha256");
    await pipeline(createReadStream(path), hash);
    digest = hash.digest("hex");
  }
  return {
    size: info.size,
    sha256: digest,
    open: (offset) => createReadStream(path, { start: offset }),
  };
}

/** Bytes in memory (a rendered config file) as an upload source. */
export function bufferSource(content: string | Uint8Array): UploadSource {
  const bytes = Buffer.from(content);
  return {
    size: bytes.length,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    open: (offset) => Readable.from(chunks(bytes.subarray(offset)), { objectMode: false }),
  };
}

/** 64 KiB slices, as a file stream would deliver them, so progress and cuts happen mid-content. */
function* chunks(bytes: Buffer): Generator<Buffer> {
  for (let start = 0; start < bytes.length; start += 65536) yield bytes.subarray(start, start + 65536);
}
