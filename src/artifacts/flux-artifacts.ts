import { readFile } from "node:fs/promises";
import type { RetryPolicy } from "../concurrency/retry.js";
import { OperatorError } from "../errors.js";
import type { Events } from "../events.js";
import type { BlobStore } from "../store/blob-store.js";
import { findFile, readArtifactIndex } from "./artifact-index.js";
import type { FluxCatalog } from "./flux-catalog.js";
import { imagesOf, parseManifestObjects } from "./manifest-images.js";
import { type PulledFile, pullReleaseFiles } from "./pull-files.js";
import { type PulledImage, pullImages } from "./pull-images.js";

/**
 * Carries Flux: the checksums file and install.yaml (checked against it, as a distro's files are
 * against their sums), then every image install.yaml names, for the cluster's architecture.
 */
export async function pullFlux(options: {
  store: BlobStore;
  catalog: FluxCatalog;
  arch: string;
  events: Events;
  retry?: RetryPolicy;
  concurrency?: number;
}): Promise<{ files: PulledFile[]; images: PulledImage[] }> {
  const { store, catalog, arch, events } = options;
  const retry = options.retry === undefined ? {} : { retry: options.retry };
  const files = await pullReleaseFiles({ store, catalog, events, ...retry });
  const images = await pullImages({
    store,
    images: await fluxImagesInStore(store, catalog),
    arch,
    events,
    ...retry,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
  });
  return { files, images };
}

/** The carried install.yaml, as pulled and verified; an OperatorError when the store lacks it. */
export async function fluxInstallInStore(store: BlobStore, catalog: FluxCatalog): Promise<string> {
  const index = await readArtifactIndex(store.root);
  const record = findFile(index, { ...catalogSet(catalog), name: catalog.installFile.name });
  if (!record || !(await store.verify(record.digest))) {
    throw new OperatorError(`the store lacks Flux ${catalog.version} ${catalog.installFile.name}`, {
      hint: "run airstrap artifacts pull -f cluster.yaml (or load a bundle that carries it)",
    });
  }
  return readFile(store.blobPath(record.digest), "utf8");
}

/** The images the carried install.yaml names (the controllers'). */
export async function fluxImagesInStore(store: BlobStore, catalog: FluxCatalog): Promise<string[]> {
  const text = await fluxInstallInStore(store, catalog);
  return imagesOf(parseManifestObjects(text, `Flux ${catalog.version} ${catalog.installFile.name}`));
}

function catalogSet(catalog: FluxCatalog) {
  return { distro: catalog.distro, version: catalog.version, arch: catalog.arch };
}
