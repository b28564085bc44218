import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { type FileHandle, mkdir, open, readdir, readFile, rename, rm, stat, utimes } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { OperatorError } from "../errors.js";
import {
  blobRelativePath,
  CANONICAL_ALGORITHM,
  createDigester,
  DIGEST_ALGORITHMS,
  type Digest,
  digestAlgorithm,
  digestFromHash,
  isDigest,
} from "./digest.js";

/**
 * The one content-addressed store of airstrap. Its blob area has the layout of an OCI image
 * layout (`blobs/sha256/<hex>`, `blobs/sha512/<hex>`), so images in it keep their digests, and the
 * registry, the artifact catalogue and bundles all share it. Blobs appear only complete and
 * verified: they are written to `tmp/` on the same filesystem, fsynced, checked, and renamed into
 * place.
 */
export interface BlobStore {
  readonly root: string;
  blobPath(digest: Digest): string;
  has(digest: Digest): Promise<boolean>;
  size(digest: Digest): Promise<number | undefined>;
  /**
   * Streams `source` into the store, hashed with `expected`'s algorithm (sha256 without one). With
   * `expected`, a mismatch throws and stores nothing.
   */
  write(source: Readable | AsyncIterable<Uint8Array>, expected?: Digest): Promise<StoredBlob>;
  read(digest: Digest, range?: { start: number; end: number }): Readable;
  /** Re-hashes a stored blob; true when its content still matches its name. */
  verify(digest: Digest): Promise<boolean>;
  remove(digest: Digest): Promise<void>;
  /** A fresh path under the store's tmp dir (same filesystem as the blobs, so rename is atomic). */
  tempPath(label: string): string;
  /** Opens a blob for positioned reads (ranges); undefined when it is not in the store. */
  openForRead(digest: Digest): Promise<FileHandle | undefined>;
  /** A small blob (a manifest, a config) whole, in memory. */
  readSmall(digest: Digest): Promise<Buffer>;
  /** Marks a blob as just used (garbage collection spares young blobs). */
  touch(digest: Digest): Promise<void>;
  /**
   * Moves a complete file whose content the caller verified to be `digest` (a finished upload,
   * a mirrored blob) into the store: fsync, rename, fsync of the folder. A blob already present
   * wins and the file is left to the caller to remove.
   */
  adopt(verifiedFile: string, digest: Digest): Promise<void>;
  /** Every blob with its size and last change, for garbage collection. */
  walk(): AsyncIterable<{ digest: Digest; size: number; modifiedMs: number }>;
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
  const tmpDir = join(root, "tmp");
  for (const algorithm of DIGEST_ALGORITHMS)
    await mkdir(join(root, "blobs", algorithm), { recursive: true, mode: 0o755 });
  await mkdir(tmpDir, { recursive: true, mode: 0o700 });

  const blobPath = (digest: Digest) => join(root, blobRelativePath(digest));
  const blobsDir = (digest: Digest) => join(root, "blobs", digestAlgorithm(digest));
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
    const algorithm = expected === undefined ? CANONICAL_ALGORITHM : digestAlgorithm(expected);
    const hash = createDigester(algorithm);
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
      const digest = digestFromHash(algorithm, hash);
      if (expected !== undefined && expected !== digest) throw new DigestMismatchError(expected, digest, "blob");
      await fsyncPath(temp);
      await rename(temp, blobPath(digest));
      await fsyncPath(blobsDir(digest));
      return { digest, size: bytes };
    } finally {
      await rm(temp, { force: true });
    }
  }

  async function verify(digest: Digest): Promise<boolean> {
    const algorithm = digestAlgorithm(digest);
    const hash = createDigester(algorithm);
    try {
      for await (const chunk of createReadStream(blobPath(digest))) hash.update(chunk as Buffer);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw error;
    }
    return digestFromHash(algorithm, hash) === digest;
  }

  async function openForRead(digest: Digest): Promise<FileHandle | undefined> {
    try {
      return await open(blobPath(digest), "r");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  async function adopt(verifiedFile: string, digest: Digest): Promise<void> {
    if ((await size(digest)) !== undefined) return;
    await fsyncPath(verifiedFile);
    await rename(verifiedFile, blobPath(digest));
    await fsyncPath(blobsDir(digest));
  }

  async function* walk(): AsyncIterable<{ digest: Digest; size: number; modifiedMs: number }> {
    for (const algorithm of DIGEST_ALGORITHMS) {
      for (const hex of await readdir(join(root, "blobs", algorithm)).catch(() => [] as string[])) {
        const digest = `${algorithm}:${hex}` as const;
        if (!isDigest(digest)) continue;
        const info = await stat(blobPath(digest)).catch(() => undefined);
        if (info?.isFile()) yield { digest, size: info.size, modifiedMs: info.mtimeMs };
      }
    }
  }

  return {
    root,
    blobPath,
    tempPath,
    openForRead,
    readSmall: (digest) => readFile(blobPath(digest)),
    touch: async (digest) => {
      const now = new Date();
      await utimes(blobPath(digest), now, now).catch(() => undefined);
    },
    adopt,
    walk,
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
