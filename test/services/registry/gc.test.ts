import assert from "node:assert/strict";
import { mkdir, readdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { test } from "node:test";
import { writeArtifactIndex } from "../../../src/artifacts/artifact-index.js";
import { OperatorError } from "../../../src/errors.js";
import { silentEvents } from "../../../src/events.js";
import { collectGarbage } from "../../../src/services/registry/gc.js";
import type { RunningRegistry } from "../../../src/services/registry/service.js";
import { client, pushBlob, pushImage, testRegistry } from "./harness.js";

const HOUR = 60 * 60 * 1000;
const longAgo = new Date(Date.now() - 48 * HOUR);

function gc(registry: RunningRegistry, graceMs = HOUR) {
  const { repos, uploads, gate } = registry.context;
  return collectGarbage(repos, uploads, gate, { graceMs, uploadMaxAgeMs: 24 * HOUR, events: silentEvents });
}

async function age(root: string): Promise<void> {
  for (const algorithm of ["sha256", "sha512"]) {
    const blobs = join(root, "blobs", algorithm);
    for (const hex of await readdir(blobs)) await utimes(join(blobs, hex), longAgo, longAgo);
  }
  const manifests = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await manifests(path);
      else await utimes(path, longAgo, longAgo);
    }
  };
  await manifests(join(root, "repositories"));
}

test("gc keeps what tags and referrers reach and removes the rest, once it is old enough", async (t) => {
  const { registry, base, root } = await testRegistry(t);
  const http = client(base);
  const kept = await pushImage(http, "gc/app", "v1", "kept layer");
  const signature = await pushImage(http, "gc/app", "sig", "signature layer", {
    subject: {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: kept.digest,
      size: Buffer.byteLength(kept.manifest),
    },
  });
  await http("/v2/gc/app/manifests/sig", { method: "DELETE" });
  const dropped = await pushImage(http, "gc/app", "old", "dropped layer");
  await http(`/v2/gc/app/manifests/${dropped.digest}`, { method: "DELETE" });
  const fresh = await gc(registry);
  assert.equal(fresh.blobsRemoved, 0, "nothing inside the grace period is collected");
  await age(root);
  const report = await gc(registry);
  assert.equal(report.blobsRemoved, 2, "the dropped manifest and its layer");
  const { blobs } = registry.context.repos;
  assert.equal(await blobs.has(dropped.layer.digest), false);
  assert.equal(await blobs.has(dropped.digest), false);
  for (const digest of [kept.digest, kept.layer.digest, kept.config.digest, signature.digest, signature.layer.digest]) {
    assert.equal(await blobs.has(digest), true, `${digest} is reachable and must stay`);
  }
  const referrers = await (await http(`/v2/gc/app/referrers/${kept.digest}`)).json();
  assert.equal((referrers as { manifests: unknown[] }).manifests.length, 1);
});

test("gc marks and sweeps sha512 content like sha256: tags and sha512 referrers keep it, the rest goes", async (t) => {
  const { registry, base, root } = await testRegistry(t);
  const http = client(base);
  const kept = await pushImage(http, "gc/long", "v1", "kept sha512 layer", {}, "sha512");
  const signature = await pushImage(
    http,
    "gc/long",
    "sig",
    "sha512 signature layer",
    {
      subject: {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: kept.digest,
        size: kept.manifest.length,
      },
    },
    "sha512",
  );
  await http("/v2/gc/long/manifests/sig", { method: "DELETE" });
  const dropped = await pushImage(http, "gc/long", "old", "dropped sha512 layer", {}, "sha512");
  await http(`/v2/gc/long/manifests/${dropped.digest}`, { method: "DELETE" });
  const droppedShort = await pushImage(http, "gc/short", "old", "dropped sha256 layer");
  await http(`/v2/gc/short/manifests/${droppedShort.digest}`, { method: "DELETE" });
  await age(root);
  const report = await gc(registry);
  // sha512: the manifest and its layer (the config is shared); sha256: manifest, layer and config.
  assert.equal(report.blobsRemoved, 5);
  const { blobs } = registry.context.repos;
  const short = droppedShort;
  for (const digest of [dropped.digest, dropped.layer.digest, short.digest, short.layer.digest, short.config.digest]) {
    assert.equal(await blobs.has(digest), false, `${digest} is garbage`);
  }
  for (const digest of [kept.digest, kept.layer.digest, kept.config.digest, signature.digest, signature.layer.digest]) {
    assert.equal(await blobs.has(digest), true, `${digest} is reachable and must stay`);
  }
  const referrers = await (await http(`/v2/gc/long/referrers/${kept.digest}`)).json();
  assert.deepEqual(
    (referrers as { manifests: { digest: string }[] }).manifests.map((m) => m.digest),
    [signature.digest],
  );
});

test("gc while pushes run: every push succeeds and every tagged image stays whole", async (t) => {
  const { registry, base, root } = await testRegistry(t);
  const http = client(base);
  // Garbage that is old: a deleted image whose layer a later push will reuse (HEAD, skip, PUT).
  const reused = await pushImage(http, "gc/busy", "reused", "shared old layer");
  await http(`/v2/gc/busy/manifests/${reused.digest}`, { method: "DELETE" });
  await age(root);

  let stop = false;
  const collections: { blobsRemoved: number }[] = [];
  const collector = (async () => {
    for (let i = 0; i < 200 && !stop; i++) collections.push(await gc(registry));
  })();
  const pushes = await Promise.all(
    [0, 1, 2].map(async (writer) => {
      const done = [];
      for (let i = 0; i < 15; i++) {
        if (i % 5 === 0) {
          // Like skopeo: HEAD each blob, upload only what is missing (GC may have taken it), then PUT.
          const contents: [string, string][] = [
            [
              reused.config.digest,
              JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }),
            ],
            [reused.layer.digest, "shared old layer"],
          ];
          for (const [digest, content] of contents) {
            const head = await http(`/v2/gc/busy/blobs/${digest}`, { method: "HEAD" });
            if (head.status === 404) await pushBlob(http, "gc/busy", content);
            else assert.equal(head.status, 200);
          }
          const manifest = reused.manifest;
          const res = await http(`/v2/gc/busy/manifests/again-${writer}-${i}`, {
            method: "PUT",
            body: manifest,
            headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
          });
          assert.equal(res.status, 201, await res.text());
          done.push({ tag: `again-${writer}-${i}`, layer: reused.layer.digest });
        } else {
          const image = await pushImage(http, "gc/busy", `w${writer}-${i}`, `layer ${writer} ${i}`);
          done.push({ tag: `w${writer}-${i}`, layer: image.layer.digest });
        }
      }
      return done;
    }),
  );
  stop = true;
  await collector;
  assert.ok(
    collections.some((report) => report.blobsRemoved > 0),
    "the old garbage was collected meanwhile",
  );
  for (const { tag, layer } of pushes.flat()) {
    const manifest = await http(`/v2/gc/busy/manifests/${tag}`);
    assert.equal(manifest.status, 200, tag);
    const blob = await http(`/v2/gc/busy/blobs/${layer}`);
    assert.equal(blob.status, 200, `${tag}: layer ${layer} was collected under a live image`);
    await blob.arrayBuffer();
    assert.equal(await registry.context.repos.blobs.verify(layer), true);
  }
});

test("stale upload sessions are removed, live ones kept", async (t) => {
  const { registry, base, root } = await testRegistry(t);
  const http = client(base);
  const stale = (await http("/v2/gc/uploads/blobs/uploads/", { method: "POST" })).headers.get("location")!;
  const live = (await http("/v2/gc/uploads/blobs/uploads/", { method: "POST" })).headers.get("location")!;
  await utimes(join(root, "uploads", stale.split("/").pop()!, "data"), longAgo, longAgo);
  const report = await gc(registry);
  assert.equal(report.uploadsRemoved, 1);
  assert.equal((await http(stale)).status, 404);
  assert.equal((await http(live)).status, 204);
});

test("gc keeps every blob the artifact index names, tagged or not, and still collects the rest", async (t) => {
  const { registry, base, root } = await testRegistry(t);
  const http = client(base);
  const { blobs } = registry.context.repos;
  // What `airstrap artifacts pull` leaves: a release file as a plain blob (no tag reaches it)...
  const releaseFile = await blobs.write(Readable.from([Buffer.from("#!/bin/sh\necho install the distro\n")]));
  // ...and a pinned image whose tag was later deleted through the registry.
  const image = await pushImage(http, "docker.io/library/pause", "3.9", "pause layer");
  assert.equal((await http(`/v2/docker.io/library/pause/manifests/${image.digest}`, { method: "DELETE" })).status, 202);
  const garbage = await pushImage(http, "gc/unrelated", "v1", "unrelated layer");
  await http(`/v2/gc/unrelated/manifests/${garbage.digest}`, { method: "DELETE" });
  await writeArtifactIndex(root, {
    files: [
      {
        distro: "rke2",
        version: "v1.31.4+rke2r1",
        arch: "amd64",
        name: "install.sh",
        digest: releaseFile.digest,
        size: releaseFile.size,
        verification: "pinned",
        source: "https://get.rke2.io",
      },
    ],
    images: [
      {
        reference: "docker.io/library/pause:3.9",
        arch: "amd64",
        repository: "docker.io/library/pause",
        tag: "3.9",
        digest: image.digest,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        manifests: [{ digest: image.digest, mediaType: "application/vnd.oci.image.manifest.v1+json" }],
        blobs: [image.config.digest, image.layer.digest],
      },
    ],
  });
  await age(root);

  const report = await gc(registry);
  for (const digest of [releaseFile.digest, image.digest, image.config.digest, image.layer.digest]) {
    assert.equal(await blobs.has(digest), true, `${digest} is in the artifact index and must stay`);
  }
  assert.equal(await blobs.has(garbage.layer.digest), false, "garbage the index does not name is collected");
  assert.equal(await blobs.has(garbage.digest), false);
  assert.equal(report.blobsRemoved, 2);
});

test("gc stops before sweeping when the artifact index cannot be read", async (t) => {
  const { registry, base, root } = await testRegistry(t);
  const http = client(base);
  const garbage = await pushImage(http, "gc/unrelated", "v1", "unrelated layer");
  await http(`/v2/gc/unrelated/manifests/${garbage.digest}`, { method: "DELETE" });
  await mkdir(join(root, "artifacts"), { recursive: true });
  await writeFile(join(root, "artifacts", "index.json"), '{"files": [');
  await age(root);
  await assert.rejects(gc(registry), (error: Error) => {
    assert.ok(error instanceof OperatorError);
    assert.match(error.message, /garbage collection stopped, nothing removed: .*index\.json: not valid JSON/);
    assert.ok(error.hint);
    return true;
  });
  assert.equal(await registry.context.repos.blobs.has(garbage.layer.digest), true, "nothing was swept");
});
