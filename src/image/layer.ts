import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { PassThrough, Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { constants, createGzip } from "node:zlib";
import { pack } from "tar-stream";
import type { BlobStore, StoredBlob } from "../store/blob-store.js";
import type { Digest } from "../store/digest.js";
import type { RootfsEntry } from "./rootfs.js";

/**
 * Extended attributes as PAX records (`SCHILY.xattr.<name>`, what containerd, Docker and GNU tar
 * read). tar-stream writes a record's value as UTF-8 text, so only values of bytes below 0x80 —
 * which a file capability of the low capabilities is — keep their bytes.
 */
function paxXattrs(xattrs: Record<string, Buffer>): Record<string, string> {
  const records: Record<string, string> = {};
  for (const [name, value] of Object.entries(xattrs)) {
    if (value.some((byte) => byte >= 0x80))
      throw new Error(`xattr ${name}: a byte above 0x7f cannot go into a PAX record here`);
    records[`SCHILY.xattr.${name}`] = value.toString("latin1");
  }
  return records;
}

/**
 * Writes the image's one layer into a blob store: a tar with fixed owners, times and order,
 * gzipped with fixed settings (Node's gzip header carries no time or name), so the same files
 * give the same digest on every build.
 */
const EPOCH = new Date(0);

export async function writeLayer(
  blobs: BlobStore,
  entries: RootfsEntry[],
): Promise<{ layer: StoredBlob; diffId: Digest; uncompressedSize: number }> {
  const tar = pack();
  const uncompressed = createHash("sha256");
  let uncompressedSize = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      uncompressed.update(chunk);
      uncompressedSize += chunk.length;
      done(null, chunk);
    },
  });
  const gzip = createGzip({ level: 9, memLevel: 8, windowBits: 15, strategy: constants.Z_DEFAULT_STRATEGY });
  const compressed = new PassThrough({ highWaterMark: 1 << 20 });
  const piped = pipeline(tar, hashing, gzip, compressed);
  const stored = blobs.write(compressed as unknown as AsyncIterable<Uint8Array>);
  const fed = feed();
  const [, , layer] = await Promise.all([fed, piped, stored]);
  return { layer, diffId: `sha256:${uncompressed.digest("hex")}`, uncompressedSize };

  async function feed(): Promise<void> {
    try {
      for (const entry of entries) {
        const name = entry.path.replace(/^\/+/, "");
        const header = { name, mode: entry.mode, mtime: EPOCH, uid: 0, gid: 0, uname: "", gname: "" };
        if (entry.kind === "dir") {
          await addEntry({ ...header, type: "directory" }, undefined);
        } else if (entry.kind === "bytes") {
          await addEntry({ ...header, type: "file", size: entry.bytes.length }, Readable.from([entry.bytes]));
        } else {
          const size = (await stat(entry.source)).size;
          await addEntry(
            { ...header, type: "file", size, ...(entry.xattrs ? { pax: paxXattrs(entry.xattrs) } : {}) },
            createReadStream(entry.source, { highWaterMark: 1 << 20 }),
          );
        }
      }
      tar.finalize();
    } catch (error) {
      tar.destroy(error as Error);
      throw error;
    }
  }

  async function addEntry(header: Parameters<typeof tar.entry>[0], body: Readable | undefined): Promise<void> {
    if (!body) {
      await new Promise<void>((resolve, reject) => tar.entry(header, (error) => (error ? reject(error) : resolve())));
      return;
    }
    await pipeline(body, tar.entry(header));
  }
}
