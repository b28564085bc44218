import { createReadStream } from "node:fs";
import { createIndexWriter, type FileRecord, readArtifactIndex } from "../../artifacts/artifact-index.js";
import { openBlobStore } from "../../store/blob-store.js";
import type { NetbootImage } from "./build.js";

/**
 * A custom OS's boot files are store files with distro "os": their `name` is the asset name the
 * manifest's spec.provisioning.pxe.os uses and the boot server serves as /assets/<name>. One name
 * means one file: a rebuilt image replaces the record (the version stays, the source names the build).
 */
export const OS_FILES_DISTRO = "os";

export const LAB_DEBIAN_ASSETS = {
  kernel: "debian/vmlinuz",
  initrd: "debian/initrd.img",
  rootImage: "debian/live.squashfs",
} as const;

/** What a manifest puts under spec.provisioning.pxe.os to boot the lab's Debian. */
export interface CustomOs {
  kernel: string;
  initrd: string[];
  rootImage: string;
}

/** Writes the three files into the store and records them by asset name; returns the manifest's `os`. */
export async function storeNetbootImage(storeRoot: string, image: NetbootImage): Promise<CustomOs> {
  const store = await openBlobStore(storeRoot);
  const records: FileRecord[] = [];
  for (const part of ["kernel", "initrd", "rootImage"] as const) {
    const blob = await store.write(createReadStream(image[part]));
    records.push({
      distro: OS_FILES_DISTRO,
      version: "lab-debian",
      arch: "amd64",
      name: LAB_DEBIAN_ASSETS[part],
      digest: blob.digest,
      size: blob.size,
      verification: "pinned",
      source: `airstrap lab netboot image ${image.hash} (kernel ${image.kernelVersion})`,
    });
  }
  await createIndexWriter(storeRoot)({ files: records });
  return {
    kernel: LAB_DEBIAN_ASSETS.kernel,
    initrd: [LAB_DEBIAN_ASSETS.initrd],
    rootImage: LAB_DEBIAN_ASSETS.rootImage,
  };
}

/** The stored file behind /assets/<name> for a custom OS, or undefined (a boot server answers 404). */
export async function resolveOsAsset(storeRoot: string, name: string): Promise<string | undefined> {
  const index = await readArtifactIndex(storeRoot);
  const record = index.files.find((file) => file.distro === OS_FILES_DISTRO && file.name === name);
  if (!record) return undefined;
  const store = await openBlobStore(storeRoot);
  return (await store.has(record.digest)) ? store.blobPath(record.digest) : undefined;
}
