import { z } from "zod";
import { blobRelativePath, type Digest, digestFromBlobPath } from "../../store/digest.js";
import {
  digestSchema,
  type FileRecord,
  fileRecordSchema,
  type ImageRecord,
  imageRecordSchema,
  type ReleaseRecord,
  releaseRecordSchema,
} from "../artifact-index.js";
import { END_OF_ARCHIVE, entrySpan, headerLength } from "./tar-header.js";

/**
 * A bundle is one tar stream (optionally cut into parts of a fixed size):
 *
 *   airstrap-index.json   the index (JSON): every entry's path, size and SHA-256, what the
 *                         content is (release files, images), the manifest's hash, tool version
 *   airstrap-index.sig    128 bytes: ed25519 public key (32) ‖ SHA-256 of the index (32) ‖
 *                         ed25519 signature of that hash (64)
 *   blobs/sha256/<hex>    one entry per carried blob, in index order
 *   two zero blocks
 *
 * Every header is the canonical one for (name, size) and padding is zero, so the whole byte
 * stream is a function of the signed index and the blob contents: a reader checks every byte.
 */
export const BUNDLE_FORMAT = "airstrap-bundle/v1";
export const INDEX_ENTRY = "airstrap-index.json";
export const SIGNATURE_ENTRY = "airstrap-index.sig";
export const SIGNATURE_SIZE = 128;
export const MAX_INDEX_SIZE = 64 * 1024 * 1024;

export interface BundleEntry {
  path: string;
  digest: Digest;
  size: number;
  /**
   * For an entry whose content crosses a part boundary: the SHA-256 of its bytes in each part,
   * so damage is pinned to one part, not only to the entry.
   */
  segments?: Array<{ part: number; size: number; digest: Digest }>;
}

export interface BundleIndex {
  format: typeof BUNDLE_FORMAT;
  tool: { name: "airstrap"; version: string };
  createdAt: string;
  manifest: { file: string; sha256: string; cluster: string };
  /** Bytes per part when the bundle is split; absent for a single file. */
  partSize?: number;
  /** Differential bundles: the index digest of the bundle this one adds to. */
  base?: { index: Digest; createdAt: string };
  /** What the bundle carries, in stream order. */
  entries: BundleEntry[];
  /** Every blob the content needs: carried here or, for a differential bundle, by its base. */
  requires: Digest[];
  files: FileRecord[];
  images: ImageRecord[];
  releases?: ReleaseRecord[];
}

const digest = digestSchema;
export const bundleIndexSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  tool: z.object({ name: z.literal("airstrap"), version: z.string() }),
  createdAt: z.string(),
  manifest: z.object({ file: z.string(), sha256: z.string(), cluster: z.string() }),
  partSize: z.number().int().positive().optional(),
  base: z.object({ index: digest, createdAt: z.string() }).optional(),
  entries: z.array(
    z.object({
      path: z.string().refine((path) => digestFromBlobPath(path) !== undefined, "not blobs/<algorithm>/<hex>"),
      digest,
      size: z.number().int().nonnegative(),
      segments: z
        .array(z.object({ part: z.number().int().nonnegative(), size: z.number().int().nonnegative(), digest }))
        .optional(),
    }),
  ),
  requires: z.array(digest),
  files: z.array(fileRecordSchema),
  images: z.array(imageRecordSchema),
  releases: z.array(releaseRecordSchema).optional(),
});

export function entryPath(digest: Digest): string {
  return blobRelativePath(digest);
}

/** Where each piece of the stream sits; everything follows from the index's length and entries. Pure. */
export interface BundleLayout {
  indexOffset: number;
  signatureOffset: number;
  /** Offset of each entry's header, in index order. */
  entryOffsets: number[];
  /** Offset of each entry's content (after its one or three header blocks). */
  contentOffsets: number[];
  endOffset: number;
  totalSize: number;
}

export function bundleLayout(
  indexLength: number,
  entries: ReadonlyArray<{ size: number; path: string }>,
): BundleLayout {
  const indexOffset = 0;
  const signatureOffset = entrySpan(indexLength);
  let offset = signatureOffset + entrySpan(SIGNATURE_SIZE);
  const entryOffsets = entries.map((entry) => {
    const at = offset;
    offset += entrySpan(entry.size, entry.path);
    return at;
  });
  const contentOffsets = entries.map((entry, i) => entryOffsets[i]! + headerLength(entry.path));
  return {
    indexOffset,
    signatureOffset,
    entryOffsets,
    contentOffsets,
    endOffset: offset,
    totalSize: offset + END_OF_ARCHIVE,
  };
}

/** Expected size of every part for a bundle of `totalSize` bytes. Pure. */
export function partSizes(totalSize: number, partSize: number | undefined): number[] {
  if (partSize === undefined) return [totalSize];
  const sizes: number[] = [];
  for (let offset = 0; offset < totalSize; offset += partSize) sizes.push(Math.min(partSize, totalSize - offset));
  return sizes;
}

/** Splits a content range [start, start+size) at part boundaries. Pure. */
export function segmentsOf(start: number, size: number, partSize: number): Array<{ part: number; size: number }> {
  const segments: Array<{ part: number; size: number }> = [];
  let offset = start;
  const end = start + size;
  while (offset < end) {
    const part = Math.floor(offset / partSize);
    const partEnd = (part + 1) * partSize;
    const length = Math.min(end, partEnd) - offset;
    segments.push({ part, size: length });
    offset += length;
  }
  return segments;
}

/** What a blob is, in the operator's terms: "release file k3s", "part of image docker.io/library/nginx:1.27". Pure. */
export function describeBlob(index: Pick<BundleIndex, "files" | "images">, digest: Digest): string {
  const names = [
    ...index.files.filter((f) => f.digest === digest).map((f) => `release file ${f.name}`),
    ...index.images
      .filter((i) => i.blobs.includes(digest) || i.manifests.some((m) => m.digest === digest))
      .map((i) => `part of image ${i.reference}`),
  ];
  return names.length === 0 ? "not named in the index" : names.join(", ");
}

/** A bundle's index as read and checked: what every reader of a bundle starts from. */
export interface BundleHead {
  index: BundleIndex;
  /** SHA-256 of the index bytes: the bundle's identity (differential bundles name their base by it). */
  indexDigest: Digest;
  publicKey: Buffer;
  fingerprint: string;
  layout: BundleLayout;
}
