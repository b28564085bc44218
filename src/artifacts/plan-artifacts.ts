import { OperatorError } from "../errors.js";
import type { Plan } from "../plan/types.js";
import {
  type ArtifactIndex,
  type FileRecord,
  findFile,
  findImage,
  findRelease,
  type ImageRecord,
  type ReleaseRecord,
} from "./artifact-index.js";
import { type BootCatalog, bootCatalogFiles } from "./boot-catalog.js";
import { type ReleaseCatalog, releaseCatalog } from "./catalog.js";

/** What a cluster needs carried across: its distro release files, its images, and what PXE boots. Pure. */
export interface NeededArtifacts {
  catalog: ReleaseCatalog;
  images: string[];
  arch: string;
  /** The OS PXE machines boot and the iPXE binaries; empty for a site without PXE. */
  boot: BootCatalog[];
}

export function artifactsFromPlan(plan: Plan, manifestDir: string): NeededArtifacts {
  const { name, version, arch } = plan.distro;
  return {
    catalog: releaseCatalog({
      distro: name,
      version,
      arch,
      ...(plan.artifacts.source === undefined ? {} : { source: plan.artifacts.source }),
      baseDir: manifestDir,
    }),
    images: [...plan.artifacts.images],
    arch,
    boot: [],
  };
}

/** The index records a bundle of `needed` carries; throws naming what was never pulled. Pure. */
export function contentFor(
  needed: NeededArtifacts,
  index: ArtifactIndex,
): { files: FileRecord[]; images: ImageRecord[]; releases: ReleaseRecord[] } {
  const { catalog } = needed;
  const missing: string[] = [];
  const files: FileRecord[] = [];
  for (const file of catalog.files) {
    const record = findFile(index, {
      distro: catalog.distro,
      version: catalog.version,
      arch: catalog.arch,
      name: file.name,
    });
    if (record) files.push(record);
    else missing.push(file.name);
  }
  const images: ImageRecord[] = [];
  for (const reference of needed.images) {
    const record = findImage(index, reference, needed.arch);
    if (record) images.push(record);
    else missing.push(reference);
  }
  // Pulls publish the release as an artifact; a store filled another way may lack it, and the files still go.
  const releases = [findRelease(index, { distro: catalog.distro, version: catalog.version, arch: catalog.arch })];
  for (const boot of needed.boot) {
    for (const file of bootCatalogFiles(boot)) {
      const record = findFile(index, { ...boot.set, name: file.name });
      if (record) files.push(record);
      else missing.push(`${boot.set.distro} ${boot.set.version} ${file.name}`);
    }
    releases.push(findRelease(index, boot.set));
  }
  if (missing.length > 0) {
    throw new OperatorError(`the store does not hold ${missing.join(", ")}`, {
      hint: "run airstrap artifacts pull -f cluster.yaml first",
    });
  }
  return { files, images, releases: releases.filter((r): r is ReleaseRecord => r !== undefined) };
}
