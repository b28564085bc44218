import { OperatorError } from "../errors.js";
import type { Arch } from "../manifest/defaults.js";
import type { Plan, PlannedPxe } from "../plan/types.js";
import {
  type ArtifactIndex,
  type FileRecord,
  findFile,
  findImage,
  findRelease,
  type ImageRecord,
  type ReleaseRecord,
} from "./artifact-index.js";
import { type BootCatalog, bootCatalogFiles, customOsCatalog, flatcarCatalog, ipxeCatalog } from "./boot-catalog.js";
import { type ReleaseCatalog, releaseCatalog } from "./catalog.js";
import { type FluxCatalog, fluxCatalog } from "./flux-catalog.js";

/** What a cluster needs carried across: its distro release files, its images, and what PXE boots. Pure. */
export interface NeededArtifacts {
  catalog: ReleaseCatalog;
  images: string[];
  arch: string;
  /** The OS PXE machines boot and the iPXE binaries; empty for a site without PXE. */
  boot: BootCatalog[];
  /** Flux's release files, for a site handed over in stages; its images are named by its install.yaml. */
  flux?: FluxCatalog;
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
    boot: plan.pxe ? bootCatalogsFor(plan.pxe, arch, manifestDir) : [],
    ...(plan.gitops ? { flux: fluxCatalog({ ...plan.gitops.flux, baseDir: manifestDir }) } : {}),
  };
}

/** What a PXE site boots: its OS (Flatcar, or files of one's own) and the iPXE binaries. Pure. */
function bootCatalogsFor(pxe: PlannedPxe, arch: Arch, baseDir: string): BootCatalog[] {
  const { os } = pxe;
  const source = os.source === undefined ? {} : { source: os.source };
  const osCatalog =
    os.kind === "flatcar"
      ? flatcarCatalog({
          channel: os.channel,
          version: os.version,
          arch,
          baseDir,
          ...source,
          ...(os.signer === undefined ? {} : { fingerprint: os.signer }),
        })
      : customOsCatalog({
          arch,
          kernel: os.kernel,
          initrd: os.initrd,
          ...(os.rootImage === undefined ? {} : { rootImage: os.rootImage }),
          baseDir,
          ...source,
        });
  return [osCatalog, ipxeCatalog({ arch, baseDir })];
}

/**
 * The index records a bundle of `needed` carries; throws naming what was never pulled. Pure.
 * `fluxImages`: the images the carried install.yaml names (fluxImagesInStore), for a staged site.
 */
export function contentFor(
  needed: NeededArtifacts,
  index: ArtifactIndex,
  fluxImages: readonly string[] = [],
): { files: FileRecord[]; images: ImageRecord[]; releases: ReleaseRecord[] } {
  const missing: string[] = [];
  const files: FileRecord[] = [];
  const releases: Array<ReleaseRecord | undefined> = [];
  for (const catalog of needed.flux ? [needed.catalog, needed.flux] : [needed.catalog]) {
    const set = { distro: catalog.distro, version: catalog.version, arch: catalog.arch };
    for (const file of catalog.files) {
      const record = findFile(index, { ...set, name: file.name });
      if (record) files.push(record);
      else missing.push(catalog.distro === "flux" ? `Flux ${catalog.version} ${file.name}` : file.name);
    }
    // Pulls publish the release as an artifact; a store filled another way may lack it, and the files still go.
    releases.push(findRelease(index, set));
  }
  const images: ImageRecord[] = [];
  for (const reference of [...needed.images, ...fluxImages]) {
    const record = findImage(index, reference, needed.arch);
    if (record) images.push(record);
    else missing.push(reference);
  }
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
