import { rename } from "node:fs/promises";
import { dirname } from "node:path";
import { type BlobStore, fsyncPath } from "../store/blob-store.js";
import type { Digest } from "../store/digest.js";

/**
 * Moves a complete file whose digest the caller has just computed into the blob store. The
 * file must sit under the store's tmp dir (same filesystem), so this is the store's own
 * fsync-then-rename, without copying gigabytes a second time.
 */
export async function adoptIntoStore(store: BlobStore, path: string, digest: Digest): Promise<void> {
  await fsyncPath(path);
  const target = store.blobPath(digest);
  await rename(path, target);
  await fsyncPath(dirname(target));
}
