import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { releaseCatalog } from "../../src/artifacts/catalog.js";
import { releaseFilesInStore } from "../../src/artifacts/release-files.js";
import { backoffDelay } from "../../src/concurrency/retry.js";
import { addFile, newStore, random, recordContent } from "./bundle/fixtures.js";

test("release files are found in the store by their upstream names; missing ones are named", async (t) => {
  const store = await newStore(t, "release-files");
  const catalog = releaseCatalog({ distro: "k3s", version: "v1.31.4+k3s1", arch: "amd64" });
  const bytes = random(1000);
  const files = [await addFile(store, "k3s", bytes), await addFile(store, "install.sh", random(10))];
  await recordContent(store, { files, images: [] });
  await assert.rejects(
    releaseFilesInStore(store, catalog),
    /the store lacks k3s v1\.31\.4\+k3s1 amd64: sha256sum-amd64\.txt, k3s-airgap-images-amd64\.tar\.zst/,
  );
  const rest = [
    await addFile(store, "sha256sum-amd64.txt", random(10)),
    await addFile(store, "k3s-airgap-images-amd64.tar.zst", random(10)),
  ];
  await recordContent(store, { files: rest, images: [] });
  const found = await releaseFilesInStore(store, catalog);
  assert.deepEqual(
    found.map((f) => f.name),
    ["sha256sum-amd64.txt", "k3s", "k3s-airgap-images-amd64.tar.zst", "install.sh"],
  );
  assert.deepEqual(await readFile(found[1]!.path), bytes);
});

test("backoff doubles from the base delay up to the cap, with jitter between half and one and a half", () => {
  const policy = { attempts: 6, baseDelayMs: 100, maxDelayMs: 1000 };
  assert.deepEqual(
    [1, 2, 3, 4, 5].map((n) => backoffDelay(policy, n, () => 0.5)),
    [100, 200, 400, 800, 1000],
  );
  assert.equal(
    backoffDelay(policy, 1, () => 0),
    50,
  );
  assert.equal(
    backoffDelay(policy, 5, () => 0.999),
    1499,
  );
});
