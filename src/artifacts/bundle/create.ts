import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { writeFile } from "node:fs/promises";
import { basename } from "node:path";
import { OperatorError } from "../../errors.js";
import type { Events } from "../../events.js";
import type { BlobStore } from "../../store/blob-store.js";
import { createDigester, type Digest, digestAlgorithm, digestFromHash } from "../../store/digest.js";
import { VERSION } from "../../version.js";
import { type FileRecord, type ImageRecord, type ReleaseRecord, requiredDigests } from "../artifact-index.js";
import { operatorFsError } from "../fs-errors.js";
import {
  BUNDLE_FORMAT,
  type BundleEntry,
  type BundleIndex,
  bundleLayout,
  entryPath,
  INDEX_ENTRY,
  partSizes,
  SIGNATURE_ENTRY,
  SIGNATURE_SIZE,
  segmentsOf,
} from "./format.js";
import { PartWriter } from "./parts.js";
import { bundleProgress } from "./progress.js";
import { formatPublicKey, keyFingerprint, type SigningKey, signDigest } from "./signing.js";
import { END_OF_ARCHIVE, paddingFor, tarHeader } from "./tar-header.js";

export interface CreateBundleOptions {
  store: BlobStore;
  output: string;
  partSize?: number;
  /** Differential: the index of the bundle already carried across (and its digest). */
  since?: { index: BundleIndex; digest: Digest };
  content: BundleContent;
  manifest: { file: string; text: string; cluster: string };
  signingKey: SigningKey;
  events: Events;
  now?: Date;
}

export interface CreatedBundle {
  parts: Array<{ path: string; size: number }>;
  indexDigest: Digest;
  publicKey: string;
  fingerprint: string;
  entries: number;
  carriedBytes: number;
  /** Blobs left out because the base bundle carried them. */
  skippedFromBase: number;
}

export interface BundleContent {
  files: FileRecord[];
  images: ImageRecord[];
  releases?: ReleaseRecord[];
}

const ZERO_DIGEST = `sha256:${"0".repeat(64)}` as Digest;

/**
 * Writes the needed subset of the store as one signed bundle (or parts). Every blob is re-hashed
 * on its way out, so a store that rotted on disk cannot produce a bundle that only fails on the
 * other side. Streams: memory does not grow with the bundle.
 */
export async function createBundle(options: CreateBundleOptions): Promise<CreatedBundle> {
  const { store, events, partSize } = options;
  const requires = requiredDigests(options.content);
  const inBase = new Set(options.since?.index.requires ?? []);
  const carried = requires.filter((d) => !inBase.has(d));
  const missing: Digest[] = [];
  const entries: BundleEntry[] = [];
  for (const digest of carried) {
    const size = await store.size(digest);
    if (size === undefined) missing.push(digest);
    else entries.push({ path: entryPath(digest), digest, size });
  }
  if (missing.length > 0) {
    throw new OperatorError(
      `the store lacks ${missing.length} blob${missing.length === 1 ? "" : "s"} the bundle needs (first: ${missing[0]})`,
      {
        hint: "run airstrap artifacts pull -f cluster.yaml, then airstrap artifacts check",
      },
    );
  }
  const index: BundleIndex = {
    format: BUNDLE_FORMAT,
    tool: { name: "airstrap", version: VERSION },
    createdAt: (options.now ?? new Date()).toISOString(),
    manifest: {
      file: basename(options.manifest.file),
      sha256: createHash("sha256").update(options.manifest.text).digest("hex"),
      cluster: options.manifest.cluster,
    },
    ...(partSize === undefined ? {} : { partSize }),
    ...(options.since ? { base: { index: options.since.digest, createdAt: options.since.index.createdAt } } : {}),
    entries,
    requires,
    files: options.content.files,
    images: options.content.images,
    ...(options.content.releases?.length ? { releases: options.content.releases } : {}),
  };
  const indexBytes = await settleIndex(index, store);
  const layout = bundleLayout(indexBytes.length, entries);
  if (partSize !== undefined && (layout.entryOffsets[0] ?? layout.endOffset) > partSize) {
    throw new OperatorError(
      `--split ${partSize} is smaller than the bundle's index (${layout.entryOffsets[0]} bytes)`,
      {
        hint: "use a larger part size, for example 4G for FAT32 disks",
      },
    );
  }

  const indexHash = createHash("sha256").update(indexBytes).digest();
  const signature = Buffer.concat([options.signingKey.publicKey, indexHash, signDigest(options.signingKey, indexHash)]);
  if (signature.length !== SIGNATURE_SIZE) throw new Error(`signature block is ${signature.length} bytes`);

  const writer = new PartWriter(options.output, partSize);
  const total = layout.totalSize;
  let written = 0;
  const report = bundleProgress(events, "wrote", total);
  const put = async (data: Uint8Array) => {
    await writer.write(data);
    written += data.length;
    report(written);
  };
  try {
    await putEntry(put, INDEX_ENTRY, indexBytes);
    await putEntry(put, SIGNATURE_ENTRY, signature);
    for (const entry of entries) {
      await put(tarHeader(entry.path, entry.size));
      await copyVerified(store, entry, put);
      await put(Buffer.alloc(paddingFor(entry.size)));
    }
    await put(Buffer.alloc(END_OF_ARCHIVE));
    const paths = await writer.commit();
    await writeFile(`${options.output}.index.json`, indexBytes, { mode: 0o644 });
    const sizes = partSizes(total, partSize);
    return {
      parts: paths.map((path, i) => ({ path, size: sizes[i]! })),
      indexDigest: `sha256:${indexHash.toString("hex")}`,
      publicKey: formatPublicKey(options.signingKey.publicKey),
      fingerprint: keyFingerprint(options.signingKey.publicKey),
      entries: entries.length,
      carriedBytes: entries.reduce((sum, e) => sum + e.size, 0),
      skippedFromBase: requires.length - carried.length,
    };
  } catch (error) {
    await writer.abort();
    throw operatorFsError(error, `write the bundle ${options.output}`);
  }
}

async function putEntry(put: (data: Uint8Array) => Promise<void>, name: string, content: Buffer): Promise<void> {
  await put(tarHeader(name, content.length));
  await put(content);
  await put(Buffer.alloc(paddingFor(content.length)));
}

async function copyVerified(
  store: BlobStore,
  entry: BundleEntry,
  put: (data: Uint8Array) => Promise<void>,
): Promise<void> {
  const algorithm = digestAlgorithm(entry.digest);
  const hash = createDigester(algorithm);
  let size = 0;
  for await (const chunk of createReadStream(store.blobPath(entry.digest), { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
    await put(chunk as Buffer);
  }
  if (size !== entry.size || digestFromHash(algorithm, hash) !== entry.digest) {
    throw new OperatorError(`store blob ${entry.digest} is corrupt (its content no longer matches its name)`, {
      hint: "run airstrap artifacts check -f cluster.yaml, then airstrap artifacts pull to fetch it again",
    });
  }
}

/**
 * The index's JSON, with per-part digests for entries that cross a part boundary. Where the
 * boundaries fall depends on the index's own length; digests have a fixed width, so the layout
 * is settled with placeholders first and the real digests are filled in after.
 */
async function settleIndex(index: BundleIndex, store: BlobStore): Promise<Buffer> {
  const partSize = index.partSize;
  if (partSize === undefined) return Buffer.from(JSON.stringify(index));
  let previous = -1;
  let bytes = Buffer.from(JSON.stringify(index));
  for (let round = 0; round < 16 && bytes.length !== previous; round++) {
    previous = bytes.length;
    const layout = bundleLayout(bytes.length, index.entries);
    index.entries.forEach((entry, i) => {
      const segments = segmentsOf(layout.contentOffsets[i]!, entry.size, partSize);
      if (segments.length > 1) entry.segments = segments.map((s) => ({ ...s, digest: ZERO_DIGEST }));
      else delete entry.segments;
    });
    bytes = Buffer.from(JSON.stringify(index));
  }
  for (const entry of index.entries) {
    if (!entry.segments) continue;
    let start = 0;
    for (const segment of entry.segments) {
      segment.digest = await hashRange(store, entry.digest, start, segment.size);
      start += segment.size;
    }
  }
  const final = Buffer.from(JSON.stringify(index));
  if (final.length !== bytes.length) throw new Error("bundle index length changed while filling segment digests");
  return final;
}

async function hashRange(store: BlobStore, digest: Digest, start: number, size: number): Promise<Digest> {
  const hash = createHash("sha256");
  if (size > 0)
    for await (const chunk of store.read(digest, { start, end: start + size - 1 })) hash.update(chunk as Buffer);
  return `sha256:${hash.digest("hex")}`;
}
