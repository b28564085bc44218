import assert from "node:assert/strict";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { findFile, readArtifactIndex } from "../../src/artifacts/artifact-index.js";
import { releaseCatalog } from "../../src/artifacts/catalog.js";
import { pullReleaseFiles } from "../../src/artifacts/pull-files.js";
import { OperatorError } from "../../src/errors.js";
import { silentEvents } from "../../src/events.js";
import { openBlobStore } from "../../src/store/blob-store.js";
import { random, tempDir } from "./bundle/fixtures.js";
import { startReleaseMirror, sumsFileFor } from "./release-mirror.js";

const VERSION = "v1.31.4+k3s1";
const fastRetry = { attempts: 4, baseDelayMs: 5, maxDelayMs: 20 };

function k3sRelease() {
  const release = {
    k3s: random(3 * 1024 * 1024),
    "k3s-airgap-images-amd64.tar.zst": random(1024 * 1024 + 17),
  };
  return {
    ...release,
    "sha256sum-amd64.txt": sumsFileFor(release),
    "install.sh": Buffer.from("#!/bin/sh\necho k3s installer\n"),
  };
}

async function setup(t: import("node:test").TestContext, files = k3sRelease()) {
  const mirror = await startReleaseMirror(t, "k3s-io/k3s", VERSION, files);
  const store = await openBlobStore(join(await tempDir(t, "pull"), "store"));
  const catalog = releaseCatalog({ distro: "k3s", version: VERSION, arch: "amd64", source: mirror.source });
  const pull = () => pullReleaseFiles({ store, catalog, events: silentEvents, retry: fastRetry });
  return { mirror, store, catalog, pull, files };
}

test("a transfer cut mid-file resumes with a Range request from where it stopped", async (t) => {
  const { mirror, store, pull, files } = await setup(t);
  mirror.cutAfter.set("k3s", 1_000_000);
  const result = await pull();
  const k3s = mirror.requests.filter((r) => r.file === "k3s");
  assert.equal(k3s.length, 2);
  assert.equal(k3s[0]!.range, undefined);
  assert.equal(k3s[1]!.range, "bytes=1000000-");
  assert.ok(
    k3s.every((r) => r.rawPath.includes("/v1.31.4%2Bk3s1/")),
    "the + in the version is sent as %2B",
  );
  const pulled = result.find((f) => f.name === "k3s")!;
  assert.equal(pulled.outcome, "downloaded");
  assert.equal(pulled.transferred, files.k3s.length, "no byte came twice");
  assert.ok(await store.verify(pulled.digest));
  assert.deepEqual(await readdir(join(store.root, "tmp")), [], "no partial file is left behind");
});

test("a second pull downloads nothing: every file is present and verified", async (t) => {
  const { mirror, pull } = await setup(t);
  const first = await pull();
  assert.equal(first.length, 4);
  mirror.requests.length = 0;
  const second = await pull();
  assert.deepEqual(mirror.requests, []);
  assert.deepEqual(
    second.map((f) => f.outcome),
    ["present", "present", "present", "present"],
  );
});

test("a file whose content does not match the sums file is rejected by name and not stored", async (t) => {
  const files = k3sRelease();
  const good = files["k3s-airgap-images-amd64.tar.zst"];
  files["k3s-airgap-images-amd64.tar.zst"] = Buffer.concat([
    good.subarray(0, 1000),
    Buffer.from("X"),
    good.subarray(1001),
  ]);
  const { store, pull } = await setup(t, files);
  await assert.rejects(pull(), (error: unknown) => {
    assert.ok(error instanceof OperatorError);
    assert.match(
      error.message,
      /k3s-airgap-images-amd64\.tar\.zst: content does not match sha256sum-amd64\.txt \(expected sha256:[a-f0-9]{64}, got sha256:[a-f0-9]{64}\); rejected, nothing stored/,
    );
    return true;
  });
  const index = await readArtifactIndex(store.root);
  const base = { distro: "k3s", version: VERSION, arch: "amd64" };
  assert.equal(findFile(index, { ...base, name: "k3s-airgap-images-amd64.tar.zst" }), undefined);
  assert.ok(findFile(index, { ...base, name: "k3s" }), "the good files are kept");
  assert.deepEqual(await readdir(join(store.root, "tmp")), []);
});

test("busy answers (503) are retried with backoff; a pull that gives up resumes in the next run", async (t) => {
  const { mirror, store, catalog, files } = await setup(t);
  mirror.failures.set("k3s", 2);
  await pullReleaseFiles({ store, catalog, events: silentEvents, retry: fastRetry });
  assert.equal(mirror.requests.filter((r) => r.file === "k3s").length, 3);

  const second = await setup(t);
  second.mirror.cutAfter.set("k3s", 700_000);
  await assert.rejects(
    pullReleaseFiles({
      store: second.store,
      catalog: second.catalog,
      events: silentEvents,
      retry: { ...fastRetry, attempts: 1 },
    }),
    /k3s: .*gave up after 1 attempts/,
  );
  const result = await second.pull();
  const k3s = second.mirror.requests.filter((r) => r.file === "k3s");
  // Resumed, not restarted: from what the first run wrote. That can be a little less than the
  // 700,000 bytes the mirror sent, because fetch drops the chunks it still had queued when the
  // connection ended early.
  const resumedAt = Number(/^bytes=(\d+)-$/.exec(k3s.at(-1)!.range ?? "")?.[1]);
  assert.ok(resumedAt > 500_000 && resumedAt <= 700_000, `resumed at ${k3s.at(-1)!.range}`);
  assert.equal(result.find((f) => f.name === "k3s")!.transferred, files.k3s.length - resumedAt);
});

test("a local folder source is copied and checked the same way", async (t) => {
  const files = k3sRelease();
  const dir = await tempDir(t, "release-folder");
  await mkdir(join(dir, "k3s-files"));
  for (const [name, bytes] of Object.entries(files)) await writeFile(join(dir, "k3s-files", name), bytes);
  const store = await openBlobStore(join(dir, "store"));
  const catalog = releaseCatalog({ distro: "k3s", version: VERSION, arch: "amd64", source: "k3s-files", baseDir: dir });
  const result = await pullReleaseFiles({ store, catalog, events: silentEvents });
  assert.deepEqual(
    result.map((f) => f.outcome),
    ["copied", "copied", "copied", "copied"],
  );
  await writeFile(join(dir, "k3s-files", "k3s"), random(10));
  const store2 = await openBlobStore(join(dir, "store2"));
  await assert.rejects(
    pullReleaseFiles({ store: store2, catalog, events: silentEvents }),
    /k3s: content does not match sha256sum-amd64\.txt/,
  );
});
