import { createReadStream } from "node:fs";
import { createIndexWriter, type FileRecord } from "../../artifacts/artifact-index.js";
import { CUSTOM_OS_SET } from "../../artifacts/boot-catalog.js";
import { openBlobStore } from "../../store/blob-store.js";
import type { NetbootImage } from "./build.js";

/**
 * A custom OS's boot files are store files of the custom-OS set: their `name` is the asset name the
 * manifest's spec.provisioning.pxe.os uses and `airstrap serve` answers as /assets/<name>. One name
 * means one file: a rebuilt image replaces the record (the source names the build).
 */
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
      ...CUSTOM_OS_SET,
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
