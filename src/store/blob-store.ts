import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { OperatorError } from "../errors.js";
import { type Digest, digestHex } from "./digest.js";

/**
 * The one content-addressed store of airstrap. Its blob area has the layout of an OCI image
 * layout (`blobs/sha256/<hex>`), so images in it keep their digests, and the registry, the
 * artifact catalogue and bundles all share it. Blobs appear only complete and verified: they are
 * written to `tmp/` on the same filesystem, fsynced, checked, and renamed into place.
 */
export interface BlobStore {
  readonly root: string;
  blobPath(digest: Digest): string;
  has(digest: Digest): Promise<boolean>;
  size(digest: Digest): Promise<number | undefined>;
  /** Streams `source` into the store. With `expected`, a mismatch throws and stores nothing. */
  write(source: Readable | AsyncIterable<Uint8Array>, expected?: Digest): Promise<StoredBlob>;
  read(digest: Digest, range?: { start: number; end: number }): Readable;
  /** Re-hashes a stored blob; true when its content still matches its name. */
  verify(digest: Digest): Promise<boolean>;
  remove(digest: Digest): Promise<void>;
  /** A fresh path under the store's tmp dir (same filesystem as the blobs, so rename is atomic). */
  tempPath(label: string): string;
}

export interface StoredBlob {
  digest: Digest;
  size: number;
}

export class DigestMismatchError extends OperatorError {
  constructor(
    readonly expected: Digest,
    readonly actual: Digest,
    where: string,
  ) {
    super(`${where}: content does not match its digest (expected ${expected}, got ${actual})`, {
      hint: "the source is corrupt or was changed; fetch it again",
    });
    this.name = "DigestMismatchError";
  }
}

export async function openBlobStore(root: string): Promise<BlobStore> {
  const blobsDir = join(root, "blobs", "sha256");
  const tmpDir = join(root, "tmp");
  await mkdir(blobsDir, { recursive: true, mode: 0o755 });
  await mkdir(tmpDir, { recursive: true, mode: 0o700 });

  const blobPath = (digest: Digest) => join(blobsDir, digestHex(digest));
  const tempPath = (label: string) =>
    join(tmpDir, `${label.replace(/[^a-zA-Z0-9._-]/g, "_")}.${randomBytes(8).toString("hex")}`);

  async function size(digest: Digest): Promise<number | undefined> {
    try {
      return (await stat(blobPath(digest))).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  async function write(source: Readable | AsyncIterable<Uint8Array>, expected?: Digest): Promise<StoredBlob> {
    const temp = tempPath("blob");
    const hash = createHash("sha256");
    let bytes = 0;
    try {
      await pipeline(
        source,
        async function* (chunks: AsyncIterable<Uint8Array>) {
          for await (const chunk of chunks) {
            hash.update(chunk);
            bytes += chunk.length;
            yield chunk;
          }
        },
        createWriteStream(temp, { mode: 0o644 }),
      );
      const digest: Digest = `sha256:${hash.digest("hex")}`;
      if (expected !== undefined && expected !== digest) throw new DigestMismatchError(expected, digest, "blob");
      await fsyncPath(temp);
      await rename(temp, blobPath(digest));
      await fsyncPath(blobsDir);
      return { digest, size: bytes };
    } finally {
      await rm(temp, { force: true });
    }
  }

  async function verify(digest: Digest): Promise<boolean> {
    const hash = createHash("sha256");
    try {
      for await (const chunk of createReadStream(blobPath(digest))) hash.update(chunk as Buffer);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw error;
    }
    return `sha256:${hash.digest("hex")}` === digest;
  }

  return {
    root,
    blobPath,
    tempPath,
    size,
    has: async (digest) => (await size(digest)) !== undefined,
    write,
    read: (digest, range) => createReadStream(blobPath(digest), range ?? {}),
    verify,
    remove: (digest) => rm(blobPath(digest), { force: true }),
  };
}

/** fsync a file or directory so a rename that follows (or preceded) survives a power cut. */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
