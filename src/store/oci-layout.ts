import { createReadStream } from "node:fs";
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { OperatorError } from "../errors.js";
import type { Digest } from "./digest.js";
import { blobRelativePath, isDigest } from "./digest.js";
import {
  descriptorOf,
  type ImageName,
  imageGraph,
  isManifestMediaType,
  parseImageName,
  publishImage,
  readManifestBytes,
} from "./oci-image-graph.js";
import { type Descriptor, parseManifestLinks } from "./oci-manifest.js";
import { isTag, type Repositories } from "./repositories.js";

/**
 * OCI image layout folders (and, through oci-archive.ts, tarballs of them) in and out of the
 * store. Digests never change: blobs are copied byte for byte and verified on the way in.
 */
export const REF_NAME = "org.opencontainers.image.ref.name";
export const CONTAINERD_NAME = "io.containerd.image.name";

export interface ImportedImage {
  repo: string;
  reference: string;
  digest: Digest;
}

export interface OciIndex {
  schemaVersion: number;
  manifests: Descriptor[];
}

export function parseIndex(bytes: Buffer, where: string): OciIndex {
  let index: OciIndex;
  try {
    index = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new OperatorError(`${where}: index.json is not valid JSON`, { hint: "is this an OCI image layout?" });
  }
  if (!Array.isArray(index.manifests)) throw new OperatorError(`${where}: index.json has no manifests list`);
  return index;
}

/** Where each index entry goes: the containerd name, a full-reference ref.name, or `repository`. */
export function importTarget(entry: Descriptor, repository: string | undefined, where: string): ImageName {
  const annotations = entry.annotations ?? {};
  const refName = annotations[REF_NAME];
  if (repository !== undefined) {
    if (refName && isTag(refName)) return { repo: repository, reference: refName };
    const named = annotations[CONTAINERD_NAME] ?? refName;
    const reference = named ? parseImageName(named).reference : entry.digest;
    return { repo: repository, reference };
  }
  const full = annotations[CONTAINERD_NAME] ?? (refName && !isTag(refName) ? refName : undefined);
  if (full) return parseImageName(full, where);
  throw new OperatorError(`${where}: image ${entry.digest} carries no repository name`, {
    hint: "say where it goes with --repository NAME",
  });
}

/** Imports every image an index lists; blobs must already be reachable through `blob`. */
export async function importIndex(
  repos: Repositories,
  index: OciIndex,
  ensureBlob: (descriptor: Descriptor) => Promise<void>,
  options: { repository?: string; where: string },
): Promise<ImportedImage[]> {
  const imported: ImportedImage[] = [];
  for (const entry of index.manifests) {
    if (!isDigest(entry.digest))
      throw new OperatorError(`${options.where}: "${entry.digest}" is not a sha256 or sha512 digest`);
    const target = importTarget(entry, options.repository, options.where);
    await copyInto(entry);
    const record = await publishImage(repos, target.repo, target.reference, entry);
    imported.push({ repo: target.repo, reference: target.reference, digest: record.digest });
  }
  return imported;

  async function copyInto(descriptor: Descriptor): Promise<void> {
    await ensureBlob(descriptor);
    if (!isManifestMediaType(descriptor.mediaType)) return;
    const links = parseManifestLinks(await readManifestBytes(repos.blobs, descriptor.digest));
    for (const child of links.children) await copyInto(child);
  }
}

export async function importOciLayout(
  repos: Repositories,
  dir: string,
  options: { repository?: string } = {},
): Promise<ImportedImage[]> {
  const indexBytes = await readFile(join(dir, "index.json")).catch(() => {
    throw new OperatorError(`${dir}: no index.json`, {
      hint: "an OCI image layout has oci-layout, index.json and blobs/",
    });
  });
  const index = parseIndex(indexBytes, dir);
  return importIndex(
    repos,
    index,
    async (descriptor) => {
      if (await repos.blobs.has(descriptor.digest)) return;
      const path = join(dir, blobRelativePath(descriptor.digest));
      if ((await stat(path).catch(() => undefined)) === undefined) {
        throw new OperatorError(`${dir}: blob ${descriptor.digest} is missing`, { hint: "the layout is incomplete" });
      }
      await repos.blobs.write(createReadStream(path, { highWaterMark: 1 << 20 }), descriptor.digest);
    },
    { ...options, where: dir },
  );
}

/** The index entries for `images`, annotated so skopeo (`oci:DIR:tag`) and containerd find them. */
export async function exportIndex(repos: Repositories, images: ImageName[]): Promise<OciIndex> {
  const manifests: Descriptor[] = [];
  for (const image of images) {
    const descriptor = await descriptorOf(repos, image);
    const tag = isTag(image.reference) ? image.reference : undefined;
    manifests.push({
      ...descriptor,
      annotations: {
        [CONTAINERD_NAME]: tag ? `${image.repo}:${tag}` : `${image.repo}@${descriptor.digest}`,
        ...(tag ? { [REF_NAME]: tag } : {}),
      },
    });
  }
  return { schemaVersion: 2, manifests };
}

/** Writes an OCI image layout folder; `dir` must be absent or empty, and appears complete. */
export async function exportOciLayout(repos: Repositories, images: ImageName[], dir: string): Promise<OciIndex> {
  const index = await exportIndex(repos, images);
  const temp = `${dir}.partial-${process.pid}`;
  await rm(temp, { recursive: true, force: true });
  try {
    for (const entry of index.manifests) {
      for (const descriptor of await imageGraph(repos.blobs, entry)) {
        const target = join(temp, blobRelativePath(descriptor.digest));
        await mkdir(dirname(target), { recursive: true });
        await copyFile(repos.blobs.blobPath(descriptor.digest), target);
      }
    }
    await writeFile(join(temp, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    await writeFile(join(temp, "index.json"), JSON.stringify(index));
    await rename(temp, dir).catch((error: NodeJS.ErrnoException) => {
      throw new OperatorError(`${dir}: cannot create the layout there (${error.code})`, {
        hint: "export into a path that does not exist yet",
      });
    });
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  return index;
}
