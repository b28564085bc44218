import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { findFile, readArtifactIndex } from "../../../src/artifacts/artifact-index.js";
import { CUSTOM_OS_SET } from "../../../src/artifacts/boot-catalog.js";
import { storeNetbootImage } from "../../../src/lab/netboot/store.js";
import { openBlobStore } from "../../../src/store/blob-store.js";

/** The stored file behind a custom OS's asset name, as airstrap serve finds it. */
async function resolveOsAsset(storeRoot: string, name: string): Promise<string | undefined> {
  const record = findFile(await readArtifactIndex(storeRoot), { ...CUSTOM_OS_SET, arch: "amd64", name });
  return record ? (await openBlobStore(storeRoot)).blobPath(record.digest) : undefined;
}

test("the netboot image goes into the store under the asset names a manifest's pxe.os uses, and resolves back", async () => {
  const dir = await mkdtemp(join(tmpdir(), "airstrap-netboot-store-"));
  try {
    const files = {
      kernel: join(dir, "vmlinuz"),
      initrd: join(dir, "initrd.img"),
      rootImage: join(dir, "live.squashfs"),
    };
    for (const [part, path] of Object.entries(files)) await writeFile(path, `the ${part}\n`);
    const store = join(dir, "store");
    const image = { hash: "0123456789abcdef", kernelVersion: "6.1.0-50-amd64", built: true, ...files };
    const os = await storeNetbootImage(store, image);
    assert.deepEqual(os, {
      kernel: "debian/vmlinuz",
      initrd: ["debian/initrd.img"],
      rootImage: "debian/live.squashfs",
    });
    const blob = await resolveOsAsset(store, "debian/live.squashfs");
    assert.ok(blob);
    assert.equal(await readFile(blob, "utf8"), "the rootImage\n");
    assert.equal(await resolveOsAsset(store, "debian/other"), undefined);

    // A rebuilt image replaces the records: one name, one file.
    await writeFile(files.kernel, "a rebuilt kernel\n");
    await storeNetbootImage(store, { ...image, hash: "fedcba9876543210" });
    const index = await readArtifactIndex(store);
    assert.equal(index.files.filter((file) => file.name === "debian/vmlinuz").length, 1);
    assert.equal(await readFile((await resolveOsAsset(store, "debian/vmlinuz"))!, "utf8"), "a rebuilt kernel\n");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
