import type { RetryPolicy } from "../concurrency/retry.js";
import type { Events } from "../events.js";
import { openBlobStore } from "../store/blob-store.js";
import { pullFlux } from "./flux-artifacts.js";
import { operatorFsError } from "./fs-errors.js";
import type { NeededArtifacts } from "./plan-artifacts.js";
import { pullBootFiles } from "./pull-boot-files.js";
import { type PulledFile, pullReleaseFiles } from "./pull-files.js";
import { type PulledImage, pullImages } from "./pull-images.js";

export interface PullResult {
  files: PulledFile[];
  images: PulledImage[];
}

/** `airstrap artifacts pull`: the release files, the boot files, then the images, into one store. */
export async function pullArtifacts(
  storeRoot: string,
  needed: NeededArtifacts,
  events: Events,
  options: { concurrency?: number; retry?: RetryPolicy } = {},
): Promise<PullResult> {
  try {
    const store = await openBlobStore(storeRoot);
    const files = await pullReleaseFiles({ store, catalog: needed.catalog, events, ...options });
    for (const catalog of needed.boot) files.push(...(await pullBootFiles({ store, catalog, events, ...options })));
    const images = await pullImages({ store, images: needed.images, arch: needed.arch, events, ...options });
    if (needed.flux) {
      const flux = await pullFlux({ store, catalog: needed.flux, arch: needed.arch, events, ...options });
      files.push(...flux.files);
      images.push(...flux.images);
    }
    return { files, images };
  } catch (error) {
    throw operatorFsError(error, `write to the store ${storeRoot}`);
  }
}
