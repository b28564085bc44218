import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { UploadSource } from "../hosts/host.js";
import type { BlobStore } from "../store/blob-store.js";
import { type Digest, digestHex } from "../store/digest.js";

/** An upload source for content held in memory (rendered configs, units). */
export function sourceFromText(content: string | Buffer): UploadSource {
  const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content);
  return {
    size: bytes.length,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    open: (offset) => Readable.from([bytes.subarray(offset)]),
  };
}

/** An upload source reading a blob of the store (its name is its SHA-256, so nothing is hashed again). */
export function sourceFromStore(store: BlobStore, digest: Digest, size: number): UploadSource {
  return {
    size,
    sha256: digestHex(digest),
    open: (offset) => (offset >= size ? Readable.from([]) : store.read(digest, { start: offset, end: size - 1 })),
  };
}
