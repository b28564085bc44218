import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { createIndexWriter, findImage, type ImageRecord, readArtifactIndex } from "../artifacts/artifact-index.js";
import { OperatorError } from "../errors.js";
import { openBlobStore } from "../store/blob-store.js";
import { exportDockerArchive, importArchive } from "../store/oci-archive.js";
import { imageGraph, isManifestMediaType, parseImageName } from "../store/oci-image-graph.js";
import { importOciLayout } from "../store/oci-layout.js";
import { openRepositories } from "../store/repositories.js";
import { archiveRepoTags } from "./archive-tags.js";
import { imageArchiveName, imageTagFor } from "./image-config.js";

/**
 * airstrap's own image in the artifact store: recorded in the artifact index like any pulled
 * image, so a bundle carries it (every blob digest-checked on load) and install takes it from the
 * store on the other side of the air gap. Kept under docker.io/…, as the site registry mirrors
 * docker.io: the name the DaemonSet uses resolves there.
 */
export const AIRSTRAP_IMAGE_REPOSITORY = "docker.io/airstrap/airstrap";

export const airstrapImageReference = (version: string) => `${AIRSTRAP_IMAGE_REPOSITORY}:${version}`;

/** Imports a docker-archive of airstrap's image into the store and records it; returns the record. */
export async function putAirstrapImage(storeRoot: string, archive: string, arch: string): Promise<ImageRecord> {
  const [name] = await archiveRepoTags(archive);
  if (!name) throw new OperatorError(`${archive}: the image has no name`, { hint: "build it with make image" });
  const { repo, reference: tag } = parseImageName(name);
  const repository = dockerHubName(repo);
  const repos = openRepositories(await openBlobStore(storeRoot));
  // The OCI layout the build wrote beside the archive keeps the build's manifest digest; a
  // docker-archive holds no manifest, so its import makes one (same config and layers, other digest).
  const layout = join(dirname(archive), "oci");
  const images = existsSync(join(layout, "index.json"))
    ? await importOciLayout(repos, layout, { repository })
    : (await importArchive(repos, archive, { repository })).images;
  const imported = images.find((image) => image.reference === tag) ?? images[0];
  if (!imported) throw new OperatorError(`${archive}: holds no image`, { hint: "build it with make image" });
  const top = await repos.getManifest(repository, imported.reference);
  if (!top) throw new Error(`${repository}:${imported.reference} vanished after its import`);
  const graph = await imageGraph(repos.blobs, { mediaType: top.mediaType, digest: top.digest, size: top.size });
  const record: ImageRecord = {
    reference: `${repository}:${imported.reference}`,
    arch,
    repository,
    tag: imported.reference,
    digest: top.digest,
    mediaType: top.mediaType,
    manifests: graph
      .filter((d) => isManifestMediaType(d.mediaType))
      .map((d) => ({ digest: d.digest, mediaType: d.mediaType })),
    blobs: graph.filter((d) => !isManifestMediaType(d.mediaType)).map((d) => d.digest),
  };
  await createIndexWriter(storeRoot)({ images: [record] });
  return record;
}

/** `airstrap/airstrap` → `docker.io/airstrap/airstrap`, as containerd reads a name without a registry. */
function dockerHubName(repo: string): string {
  const first = repo.split("/")[0] ?? "";
  return repo.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost")
    ? repo
    : `docker.io/${repo}`;
}

/** The record of airstrap's image of this version and architecture, when the store holds it. */
export async function findAirstrapImage(
  storeRoot: string,
  version: string,
  arch: string,
): Promise<ImageRecord | undefined> {
  return findImage(await readArtifactIndex(storeRoot), airstrapImageReference(imageTagFor(version)), arch);
}

/**
 * The image a bundle carries (every bundle carries one): the archive named, else the one the
 * store already holds for this version, else the archive beside the executable (make image).
 */
export async function airstrapImageForBundle(
  storeRoot: string,
  options: { version: string; arch: string; given?: string; beside?: string },
): Promise<ImageRecord> {
  if (options.given) return putAirstrapImage(storeRoot, givenImageArchive(options.given), options.arch);
  const stored = await findAirstrapImage(storeRoot, options.version, options.arch);
  if (stored) return stored;
  if (options.beside) return putAirstrapImage(storeRoot, options.beside, options.arch);
  throw new OperatorError(
    `no airstrap image ${airstrapImageReference(imageTagFor(options.version))} for ${options.arch} to carry: every bundle carries the image the nodes run`,
    {
      hint: "build it with make image (dist/image/ beside the executable), or name its docker-archive with --image FILE",
    },
  );
}

/**
 * Writes the stored image as the docker-archive the nodes' images folders take, into `dir`, with
 * the same code `airstrap image build` writes its archive with (config and layers are the build's).
 */
export async function exportAirstrapImage(storeRoot: string, record: ImageRecord, dir: string): Promise<string> {
  const repos = openRepositories(await openBlobStore(storeRoot));
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, imageArchiveName(record.arch));
  // RepoTags without docker.io/, as the build names it: what containerd and the DaemonSet call it.
  await exportDockerArchive(repos, [{ repo: record.repository, reference: record.tag ?? record.digest }], file, {
    platform: `linux/${record.arch}`,
  });
  return file;
}

/** An archive the operator named: it must exist. */
export function givenImageArchive(given: string): string {
  if (!existsSync(given))
    throw new OperatorError(`${given}: no such image archive`, { hint: "build it with make image" });
  return resolve(given);
}

/** airstrap's image beside the executable (what `make image` writes), when it was built. */
export function imageBesideExecutable(executable: string, arch: string): string | undefined {
  const beside = join(dirname(executable), "image", imageArchiveName(arch));
  return existsSync(beside) ? beside : undefined;
}

/** The store's image of this version as a docker-archive in `dir`, for install; undefined when the store has none. */
export async function airstrapImageFromStore(
  storeRoot: string,
  version: string,
  arch: string,
  dir: string,
): Promise<string | undefined> {
  const record = await findAirstrapImage(storeRoot, version, arch);
  return record ? exportAirstrapImage(storeRoot, record, dir) : undefined;
}
