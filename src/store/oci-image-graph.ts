import { OperatorError } from "../errors.js";
import type { BlobStore } from "./blob-store.js";
import type { Digest } from "./digest.js";
import { type Descriptor, MANIFEST_MEDIA_TYPES, parseManifestLinks } from "./oci-manifest.js";
import type { Repositories } from "./repositories.js";

/** A name for an image: `docker.io/library/nginx:1.27`, `apps/web@sha256:…`. */
export interface ImageName {
  repo: string;
  /** A tag, or a digest. */
  reference: string;
}

/** Parses `name[:tag][@digest]`; the tag defaults to `latest`. */
export function parseImageName(value: string, where = "image"): ImageName {
  const at = value.indexOf("@");
  if (at >= 0) return { repo: value.slice(0, at), reference: value.slice(at + 1) };
  const slash = value.lastIndexOf("/");
  const colon = value.lastIndexOf(":");
  if (colon > slash) return { repo: value.slice(0, colon), reference: value.slice(colon + 1) };
  if (value === "") throw new OperatorError(`${where}: empty image name`);
  return { repo: value, reference: "latest" };
}

export function isManifestMediaType(mediaType: string): boolean {
  return MANIFEST_MEDIA_TYPES.includes(mediaType);
}

/** Reads a manifest's bytes from the store, refusing absurd sizes. */
export async function readManifestBytes(blobs: BlobStore, digest: Digest): Promise<Buffer> {
  const size = await blobs.size(digest);
  if (size === undefined) throw new OperatorError(`manifest ${digest} is not in the store`);
  if (size > 16 * 1024 * 1024) throw new OperatorError(`manifest ${digest} is larger than 16 MiB`);
  const chunks: Buffer[] = [];
  for await (const chunk of blobs.read(digest)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Every descriptor an image consists of, children before parents: layers and configs, then
 * the manifests that name them, then the index. Missing content is an error that names it.
 */
export async function imageGraph(blobs: BlobStore, root: Descriptor): Promise<Descriptor[]> {
  const seen = new Set<string>();
  const ordered: Descriptor[] = [];
  async function visit(descriptor: Descriptor): Promise<void> {
    if (seen.has(descriptor.digest)) return;
    seen.add(descriptor.digest);
    if (!(await blobs.has(descriptor.digest))) {
      throw new OperatorError(`${descriptor.mediaType} ${descriptor.digest} is not in the store`, {
        hint: "the image is incomplete; pull or import it again",
      });
    }
    if (isManifestMediaType(descriptor.mediaType)) {
      const links = parseManifestLinks(await readManifestBytes(blobs, descriptor.digest));
      for (const child of links.children) await visit(child);
    }
    ordered.push(descriptor);
  }
  await visit(root);
  return ordered;
}

/**
 * Publishes an image whose content is already in the store under `repo`: child manifests by
 * digest, then the root under `reference` (a tag or its digest).
 */
export async function publishImage(repos: Repositories, repo: string, reference: string, root: Descriptor) {
  const graph = await imageGraph(repos.blobs, root);
  for (const descriptor of graph) {
    if (descriptor.digest === root.digest || !isManifestMediaType(descriptor.mediaType)) continue;
    await repos.putManifest(
      repo,
      descriptor.digest,
      await readManifestBytes(repos.blobs, descriptor.digest),
      descriptor.mediaType,
    );
  }
  const bytes = await readManifestBytes(repos.blobs, root.digest);
  return repos.putManifest(repo, reference, bytes, root.mediaType, { digest: root.digest });
}

/** The descriptor a repository's tag or digest names, as an index entry would carry it. */
export async function descriptorOf(repos: Repositories, image: ImageName): Promise<Descriptor> {
  const record = await repos.getManifest(image.repo, image.reference);
  if (!record) {
    throw new OperatorError(`image ${image.repo}:${image.reference} is not in the store`, {
      hint: "list what the store holds with: airstrap registry list --root DIR",
    });
  }
  return { mediaType: record.mediaType, digest: record.digest, size: record.size };
}
