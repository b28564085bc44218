import { Readable } from "node:stream";
import { OperatorError } from "../errors.js";
import type { ArchiveContents } from "./archive-contents.js";
import type { Digest } from "./digest.js";
import { digestHex } from "./digest.js";
import { type ImageName, parseImageName, readManifestBytes } from "./oci-image-graph.js";
import type { ImportedImage } from "./oci-layout.js";
import { type Descriptor, INDEX_MEDIA_TYPES, MediaTypes, parseManifestLinks } from "./oci-manifest.js";
import type { Repositories } from "./repositories.js";

/** One element of a docker-archive's manifest.json. */
export interface DockerManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

const DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar";

/** Turns the files of a `docker save` archive into Docker schema 2 images in the store. */
export async function buildDockerImports(
  repos: Repositories,
  contents: ArchiveContents,
  file: string,
  options: { repository?: string },
): Promise<ImportedImage[]> {
  let entries: DockerManifestEntry[];
  try {
    entries = JSON.parse(contents.small.get("manifest.json")!.toString("utf8"));
    if (!Array.isArray(entries)) throw new Error("not a list");
  } catch {
    throw new OperatorError(`${file}: manifest.json is not a docker-archive manifest`);
  }

  async function blobFor(path: string, seen = 0): Promise<{ digest: Digest; size: number; head: Buffer }> {
    const name = contents.links.get(path);
    if (name !== undefined && seen < 16) return blobFor(name, seen + 1);
    const small = contents.small.get(path);
    if (small) {
      const stored = await repos.blobs.write(Readable.from([small]));
      return { ...stored, head: small.subarray(0, 2) };
    }
    const stored = contents.stored.get(path);
    if (!stored) throw new OperatorError(`${file}: manifest.json names ${path}, which the archive does not hold`);
    const chunks: Buffer[] = [];
    for await (const chunk of repos.blobs.read(stored.digest, { start: 0, end: 1 })) chunks.push(chunk as Buffer);
    return { ...stored, head: Buffer.concat(chunks) };
  }

  const imported: ImportedImage[] = [];
  for (const [i, entry] of entries.entries()) {
    const config = await blobFor(entry.Config);
    const layers: Descriptor[] = [];
    for (const layer of entry.Layers) {
      const blob = await blobFor(layer);
      const gzip = blob.head[0] === 0x1f && blob.head[1] === 0x8b;
      layers.push({
        mediaType: gzip ? MediaTypes.dockerLayerGzip : DOCKER_LAYER,
        digest: blob.digest,
        size: blob.size,
      });
    }
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.dockerManifest,
        config: { mediaType: MediaTypes.dockerConfig, digest: config.digest, size: config.size },
        layers,
      }),
    );
    const names = (entry.RepoTags ?? []).map((tag) => parseImageName(tag, file));
    if (options.repository !== undefined) {
      const tags = names.map((n) => n.reference);
      names.splice(
        0,
        names.length,
        ...(tags.length > 0 ? tags : ["latest"]).map((reference) => ({ repo: options.repository!, reference })),
      );
    }
    if (names.length === 0) {
      throw new OperatorError(`${file}: image ${i + 1} has no RepoTags`, {
        hint: "say where it goes with --repository NAME",
      });
    }
    for (const name of names) {
      const record = await repos.putManifest(name.repo, name.reference, manifest, MediaTypes.dockerManifest);
      imported.push({ repo: name.repo, reference: name.reference, digest: record.digest });
    }
  }
  return imported;
}

/** What a docker-archive of `images` holds: manifest.json and the blobs to write by name. */
export async function dockerArchiveEntries(repos: Repositories, images: ImageName[], platform: string) {
  const manifest: DockerManifestEntry[] = [];
  const blobs: { name: string; digest: Digest; size: number }[] = [];
  const seen = new Set<string>();
  const add = (descriptor: Descriptor, name: string) => {
    if (!seen.has(name)) blobs.push({ name, digest: descriptor.digest, size: descriptor.size });
    seen.add(name);
    return name;
  };
  for (const image of images) {
    const record = await repos.getManifest(image.repo, image.reference);
    if (!record) throw new OperatorError(`image ${image.repo}:${image.reference} is not in the store`);
    let links = parseManifestLinks(await readManifestBytes(repos.blobs, record.digest));
    if (links.isIndex || INDEX_MEDIA_TYPES.includes(record.mediaType)) {
      const [os, architecture] = platform.split("/");
      const chosen =
        links.children.find((c) => c.platform?.os === os && c.platform?.architecture === architecture) ??
        links.children[0];
      if (!chosen) throw new OperatorError(`image ${image.repo}:${image.reference} is an empty index`);
      links = parseManifestLinks(await readManifestBytes(repos.blobs, chosen.digest));
    }
    const [config, ...layers] = links.children;
    if (!config) throw new OperatorError(`image ${image.repo}:${image.reference} has no config`);
    manifest.push({
      Config: add(config, `${digestHex(config.digest)}.json`),
      RepoTags: image.reference.includes(":") ? [] : [`${image.repo}:${image.reference}`],
      Layers: layers.map((layer) => add(layer, `${digestHex(layer.digest)}.tar`)),
    });
  }
  return { manifest, blobs };
}
