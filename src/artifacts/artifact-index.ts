import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { OperatorError } from "../errors.js";
import { fsyncPath } from "../store/blob-store.js";
import { type Digest, digestAlgorithm, digestHex, isDigest } from "../store/digest.js";

/**
 * The store's small name → digest index for what airstrap pulled: release files (which are
 * plain blobs, so they need a name) and images (pinned to the digests seen when pulled).
 * Lives at `<store>/artifacts/index.json` and is replaced atomically (temp + fsync + rename),
 * so a crash leaves either the old or the new index.
 */
export interface FileRecord {
  distro: string;
  version: string;
  arch: string;
  name: string;
  digest: Digest;
  size: number;
  verification: "sums" | "signature" | "pinned";
  source: string;
}

export interface ImageRecord {
  /** As written in the manifest: docker.io/library/nginx:1.27 */
  reference: string;
  arch: string;
  /** Repository in the store, as a registry mirror is asked for it: library/nginx */
  repository: string;
  tag?: string;
  /** What the reference resolved to upstream (an index for multi-arch images): the pin. */
  digest: Digest;
  mediaType: string;
  /** Every manifest stored for the image, children before the index that lists them. */
  manifests: Array<{ digest: Digest; mediaType: string }>;
  /** Every config and layer blob of the stored manifests. */
  blobs: Digest[];
}

/**
 * A release's files published as one OCI artifact (a manifest whose layers are the files), tagged
 * in the repositories index: the registry then serves the files, and its garbage collector, which
 * keeps what tags reach, keeps them.
 */
export interface ReleaseRecord {
  distro: string;
  version: string;
  arch: string;
  repository: string;
  tag: string;
  digest: Digest;
  /** The artifact's (empty) config blob. */
  config: Digest;
}

export interface ArtifactIndex {
  files: FileRecord[];
  images: ImageRecord[];
  releases?: ReleaseRecord[];
}

/** Every blob the index names (files, releases, image manifests and layers): what a bundle carries and GC keeps. */
export function requiredDigests(content: ArtifactIndex): Digest[] {
  const all = new Set<Digest>();
  for (const file of content.files) all.add(file.digest);
  for (const release of content.releases ?? []) {
    all.add(release.digest);
    all.add(release.config);
  }
  for (const image of content.images) {
    for (const manifest of image.manifests) all.add(manifest.digest);
    for (const blob of image.blobs) all.add(blob);
  }
  return [...all].sort();
}

export type ArtifactRecords = { files?: FileRecord[]; images?: ImageRecord[]; releases?: ReleaseRecord[] };

/**
 * The tag an image is kept under in the store: its own, or for an image pulled by digest alone
 * `<algorithm>-<hex>`, so that it too is reachable from a tag. A tag holds at most 128
 * characters, so a sha512 hex is cut to its first 64, as the referrers tag schema cuts it.
 */
export function storeTagFor(image: Pick<ImageRecord, "tag" | "digest">): string {
  return image.tag ?? `${digestAlgorithm(image.digest)}-${digestHex(image.digest).slice(0, 64)}`;
}

export const digestSchema = z
  .string()
  .refine(isDigest, "not a sha256 or sha512 digest") as unknown as z.ZodType<Digest>;
const digest = digestSchema;
export const fileRecordSchema = z.object({
  distro: z.string(),
  version: z.string(),
  arch: z.string(),
  name: z.string(),
  digest,
  size: z.number().int().nonnegative(),
  verification: z.enum(["sums", "signature", "pinned"]),
  source: z.string(),
});

export const imageRecordSchema = z.object({
  reference: z.string(),
  arch: z.string(),
  repository: z.string(),
  tag: z.string().optional(),
  digest,
  mediaType: z.string(),
  manifests: z.array(z.object({ digest, mediaType: z.string() })),
  blobs: z.array(digest),
});

export const releaseRecordSchema = z.object({
  distro: z.string(),
  version: z.string(),
  arch: z.string(),
  repository: z.string(),
  tag: z.string(),
  digest,
  config: digest,
});

const schema = z.object({
  files: z.array(fileRecordSchema),
  images: z.array(imageRecordSchema),
  releases: z.array(releaseRecordSchema).optional(),
});

export function artifactIndexPath(storeRoot: string): string {
  return join(storeRoot, "artifacts", "index.json");
}

export async function readArtifactIndex(storeRoot: string): Promise<ArtifactIndex> {
  const path = artifactIndexPath(storeRoot);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { files: [], images: [] };
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new OperatorError(`${path}: not valid JSON`, { hint: "remove it and run airstrap artifacts pull again" });
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    throw new OperatorError(`${path}: not an airstrap artifact index (${result.error.issues[0]?.message})`, {
      hint: "remove it and run airstrap artifacts pull again",
    });
  }
  return result.data as ArtifactIndex;
}

export async function writeArtifactIndex(storeRoot: string, index: ArtifactIndex): Promise<void> {
  const path = artifactIndexPath(storeRoot);
  await mkdir(join(storeRoot, "artifacts"), { recursive: true });
  const temp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeFile(temp, `${JSON.stringify(sortIndex(index), null, 2)}\n`, { mode: 0o644, flush: true });
    await rename(temp, path);
  } finally {
    await rm(temp, { force: true });
  }
  await fsyncPath(join(storeRoot, "artifacts"));
}

const fileKey = (f: Pick<FileRecord, "distro" | "version" | "arch" | "name">) =>
  `${f.distro}\u0000${f.version}\u0000${f.arch}\u0000${f.name}`;
const imageKey = (i: Pick<ImageRecord, "reference" | "arch">) => `${i.reference}\u0000${i.arch}`;

/** Adds or replaces records (files by distro+version+arch+name, images by reference+arch, releases by distro+version+arch). Pure. */
export function mergeArtifactIndex(base: ArtifactIndex, add: ArtifactRecords): ArtifactIndex {
  const files = new Map(base.files.map((f) => [fileKey(f), f]));
  for (const f of add.files ?? []) files.set(fileKey(f), f);
  const images = new Map(base.images.map((i) => [imageKey(i), i]));
  for (const i of add.images ?? []) images.set(imageKey(i), i);
  const releases = new Map((base.releases ?? []).map((r) => [releaseKey(r), r]));
  for (const r of add.releases ?? []) releases.set(releaseKey(r), r);
  return {
    files: [...files.values()],
    images: [...images.values()],
    ...(releases.size === 0 ? {} : { releases: [...releases.values()] }),
  };
}

const releaseKey = (r: Pick<ReleaseRecord, "distro" | "version" | "arch">) =>
  `${r.distro}\u0000${r.version}\u0000${r.arch}`;

export function findRelease(
  index: ArtifactIndex,
  key: Pick<ReleaseRecord, "distro" | "version" | "arch">,
): ReleaseRecord | undefined {
  return index.releases?.find((r) => releaseKey(r) === releaseKey(key));
}

export function findFile(
  index: ArtifactIndex,
  key: Pick<FileRecord, "distro" | "version" | "arch" | "name">,
): FileRecord | undefined {
  return index.files.find((f) => fileKey(f) === fileKey(key));
}

export function findImage(index: ArtifactIndex, reference: string, arch: string): ImageRecord | undefined {
  return index.images.find((i) => imageKey(i) === imageKey({ reference, arch }));
}

function sortIndex(index: ArtifactIndex): ArtifactIndex {
  return {
    files: [...index.files].sort((a, b) => (fileKey(a) < fileKey(b) ? -1 : 1)),
    images: [...index.images].sort((a, b) => (imageKey(a) < imageKey(b) ? -1 : 1)),
    ...(index.releases
      ? { releases: [...index.releases].sort((a, b) => (releaseKey(a) < releaseKey(b) ? -1 : 1)) }
      : {}),
  };
}

/** Serialises concurrent updates of the index within this process (pulls run in parallel). */
export function createIndexWriter(storeRoot: string) {
  let chain: Promise<unknown> = Promise.resolve();
  return (add: ArtifactRecords): Promise<void> => {
    const next = chain.then(async () => {
      const current = await readArtifactIndex(storeRoot);
      await writeArtifactIndex(storeRoot, mergeArtifactIndex(current, add));
    });
    chain = next.catch(() => {});
    return next;
  };
}
