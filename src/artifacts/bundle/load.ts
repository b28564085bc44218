import { type FileHandle, mkdir, open, readdir, readFile, rename, rm, stat, statfs } from "node:fs/promises";
import { join } from "node:path";
import { OperatorError } from "../../errors.js";
import type { Events } from "../../events.js";
import { type BlobStore, fsyncPath } from "../../store/blob-store.js";
import { DIGEST_ALGORITHMS, type Digest, digestFileName, digestFromFileName, digestHex } from "../../store/digest.js";
import { MediaTypes } from "../../store/oci-manifest.js";
import { openRepositories } from "../../store/repositories.js";
import { createIndexWriter, requiredDigests, storeTagFor } from "../artifact-index.js";
import { operatorFsError } from "../fs-errors.js";
import type { BundleEntry, BundleHead } from "./format.js";
import { checkPartSizes } from "./part-check.js";
import { ByteSource, resolveBundleFiles } from "./parts.js";
import { bundleProgress } from "./progress.js";
import { readHead, walkEntries } from "./reader.js";
import type { SignerTrust } from "./trust.js";

export interface LoadedBundle {
  head: BundleHead;
  /** Blobs written into the store by this run. */
  loaded: number;
  /** Blobs already in the store before the load. */
  alreadyPresent: number;
  /** Blobs a previous, interrupted load had already staged. */
  resumed: number;
  bytes: number;
}

/** Free space kept beyond what the blobs need: link files, the index, filesystem slack. */
const SPACE_MARGIN = 64 * 1024 * 1024;

/**
 * Verifies while unpacking, straight into the store's own tmp area (same filesystem, so no
 * second copy): each blob is hashed as it is written and kept only if it matches the signed
 * index. Nothing becomes visible in the store — no blob, tag or file name — until the whole
 * bundle has checked out; then staged blobs are renamed into place and the images and files
 * are recorded. Staged blobs survive an interruption, so the next run resumes after them.
 */
export async function loadBundle(
  args: readonly string[],
  store: BlobStore,
  trust: SignerTrust,
  events: Events,
): Promise<LoadedBundle> {
  try {
    return await loadInto(args, store, trust, events);
  } catch (error) {
    throw operatorFsError(error, `load into ${store.root}`);
  }
}

async function loadInto(
  args: readonly string[],
  store: BlobStore,
  trust: SignerTrust,
  events: Events,
): Promise<LoadedBundle> {
  const files = await resolveBundleFiles(args);
  const source = new ByteSource(files.paths.filter((p): p is string => p !== undefined));
  try {
    const head = await readHead(source, files, trust);
    await checkPartSizes(files, head);
    await checkBase(store, head);
    const staging = join(store.root, "tmp", `load-${digestHex(head.indexDigest).slice(0, 32)}`);
    await mkdir(staging, { recursive: true, mode: 0o700 });
    const staged = new Set((await readdir(staging)).filter((n) => digestFromFileName(n) !== undefined));
    const inStore = new Set<Digest>();
    for (const entry of head.index.entries) if (await store.has(entry.digest)) inStore.add(entry.digest);
    const toWrite = head.index.entries.filter((e) => !inStore.has(e.digest) && !staged.has(digestFileName(e.digest)));
    await checkFreeSpace(
      store.root,
      toWrite.reduce((sum, e) => sum + e.size, 0),
    );

    const resumed = head.index.entries.filter(
      (e) => !inStore.has(e.digest) && staged.has(digestFileName(e.digest)),
    ).length;
    if (resumed > 0) {
      events.emit({
        level: "info",
        kind: "bundle.resume",
        message: `resuming: ${resumed} blobs were staged by an earlier load`,
      });
    }
    let handle: FileHandle | undefined;
    let partialPath = "";
    let loaded = 0;
    const total = head.layout.totalSize;
    await walkEntries(source, files, head, {
      begin: async (entry: BundleEntry) => {
        const name = digestFileName(entry.digest);
        if (inStore.has(entry.digest) || staged.has(name)) return false;
        partialPath = join(staging, `${name}.partial`);
        handle = await open(partialPath, "w", 0o644);
        return true;
      },
      data: async (chunk) => {
        await handle!.write(chunk);
      },
      end: async (entry) => {
        await handle!.sync();
        await handle!.close();
        handle = undefined;
        await rename(partialPath, join(staging, digestFileName(entry.digest)));
        staged.add(digestFileName(entry.digest));
        loaded++;
      },
      fail: async () => {
        await handle?.close();
        handle = undefined;
        await rm(partialPath, { force: true });
      },
      progress: bundleProgress(events, "loaded", total),
    }).catch(async (error) => {
      await handle?.close().catch(() => {});
      if (partialPath) await rm(partialPath, { force: true });
      throw error;
    });
    await fsyncPath(staging);
    await commit(store, head, staging);
    return { head, loaded, alreadyPresent: inStore.size, resumed, bytes: total };
  } finally {
    await source.close();
  }
}

async function checkBase(store: BlobStore, head: BundleHead): Promise<void> {
  const declared = new Set(head.index.requires);
  const unlisted = requiredDigests(head.index).filter((d) => !declared.has(d));
  if (unlisted.length > 0) {
    throw new OperatorError(`bundle index names content it does not require (first: ${unlisted[0]})`, {
      hint: "the bundle was not made by airstrap bundle create; do not load it",
    });
  }
  const carried = new Set(head.index.entries.map((e) => e.digest));
  const fromBase = head.index.requires.filter((d) => !carried.has(d));
  const missing: Digest[] = [];
  for (const digest of fromBase) if (!(await store.has(digest))) missing.push(digest);
  if (missing.length === 0) return;
  const base = head.index.base;
  throw new OperatorError(
    `this bundle needs ${missing.length} blob${missing.length === 1 ? "" : "s"} it does not carry and the store lacks (first: ${missing[0]})`,
    {
      hint: base
        ? `it is differential on the bundle with index ${base.index} (created ${base.createdAt}): load that one first`
        : "the store is missing content this bundle depends on",
    },
  );
}

async function checkFreeSpace(root: string, needed: number): Promise<void> {
  const fs = await statfs(root);
  const available = Number(fs.bavail) * Number(fs.bsize);
  if (available < needed + SPACE_MARGIN) {
    throw new OperatorError(
      `not enough free space in ${root}: the bundle needs ${formatBytes(needed + SPACE_MARGIN)}, ${formatBytes(available)} available`,
      { hint: "free space on that filesystem or load into another store with --store DIR" },
    );
  }
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** Makes the loaded content visible: blobs first, then image manifests and tags, then file names. */
async function commit(store: BlobStore, head: BundleHead, staging: string): Promise<void> {
  for (const entry of head.index.entries) {
    const stagedPath = join(staging, digestFileName(entry.digest));
    if (await exists(stagedPath)) {
      if (await store.has(entry.digest)) await rm(stagedPath, { force: true });
      else await rename(stagedPath, store.blobPath(entry.digest));
    }
  }
  for (const algorithm of DIGEST_ALGORITHMS) await fsyncPath(join(store.root, "blobs", algorithm));
  const repositories = openRepositories(store);
  for (const image of head.index.images) {
    for (const manifest of image.manifests) {
      const bytes = await readFile(store.blobPath(manifest.digest));
      const isTop = manifest.digest === image.digest;
      await repositories.putManifest(
        image.repository,
        isTop ? storeTagFor(image) : manifest.digest,
        bytes,
        manifest.mediaType,
        { digest: manifest.digest },
      );
    }
  }
  for (const release of head.index.releases ?? []) {
    const bytes = await readFile(store.blobPath(release.digest));
    await repositories.putManifest(release.repository, release.tag, bytes, MediaTypes.ociManifest, {
      digest: release.digest,
    });
  }
  await createIndexWriter(store.root)({
    files: head.index.files,
    images: head.index.images,
    ...(head.index.releases ? { releases: head.index.releases } : {}),
  });
  await rm(staging, { recursive: true, force: true });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
