import assert from "node:assert/strict";
import { readdir, utimes } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { silentEvents } from "../../../src/events.js";
import { remoteWins, replicateFrom } from "../../../src/services/registry/replicate.js";
import { hasSkopeo, skopeoCopy } from "../../peers/skopeo.js";
import { baseUrl, client, pushBlob, pushImage, sha, tempDir, testRegistry } from "./harness.js";
import { readIndex, writeOciLayout } from "./oci-image.js";

test("a replica copies every repository, tag, manifest and blob a peer holds, and a rerun copies nothing", async (t) => {
  const a = await testRegistry(t);
  const b = await testRegistry(t);
  const http = client(a.base);
  const images = [];
  for (const repo of ["apps/web", "apps/db", "library/nginx"]) {
    images.push({ repo, ...(await pushImage(http, repo, "v1", `content ${repo}`)) });
  }
  await pushImage(http, "apps/web", "v2", "second web");
  const first = await replicateFrom(b.registry.context.repos, a.base, { events: silentEvents });
  assert.equal(first.repositories, 3);
  assert.equal(first.tagsUpdated, 4);
  const copy = client(b.base);
  for (const image of images) {
    const res = await copy(`/v2/${image.repo}/manifests/v1`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("docker-content-digest"), image.digest);
    assert.equal(await res.text(), image.manifest);
  }
  assert.deepEqual(await (await copy("/v2/apps/web/tags/list")).json(), { name: "apps/web", tags: ["v1", "v2"] });
  const layer = await copy(`/v2/library/nginx/blobs/${images[2]!.layer.digest}`);
  assert.equal(await layer.text(), "content library/nginx");
  const again = await replicateFrom(b.registry.context.repos, a.base, { events: silentEvents });
  assert.equal(again.blobsCopied, 0);
  assert.equal(again.tagsUpdated, 0);
});

test("tag conflicts: last write wins on both sides, so two replicas converge", async (t) => {
  const a = await testRegistry(t);
  const b = await testRegistry(t);
  const older = await pushImage(client(a.base), "apps/conflict", "stable", "written first on A");
  const newer = await pushImage(client(b.base), "apps/conflict", "stable", "written later on B");
  // Make the order unambiguous regardless of clock resolution.
  const tagFile = (root: string) => join(root, "repositories", "apps", "conflict", "_tags", "stable");
  await utimes(tagFile(a.root), new Date("2026-01-01T00:00:00Z"), new Date("2026-01-01T00:00:00Z"));
  await utimes(tagFile(b.root), new Date("2026-01-02T00:00:00Z"), new Date("2026-01-02T00:00:00Z"));
  const intoB = await replicateFrom(b.registry.context.repos, a.base, { events: silentEvents });
  assert.equal(intoB.tagsKept, 1);
  assert.equal(await b.registry.context.repos.resolveTag("apps/conflict", "stable"), newer.digest);
  // The losing manifest is still copied (by digest), so nothing a client pinned disappears.
  assert.ok(await b.registry.context.repos.getManifest("apps/conflict", older.digest));
  const intoA = await replicateFrom(a.registry.context.repos, b.base, { events: silentEvents });
  assert.equal(intoA.tagsUpdated, 1);
  assert.equal(await a.registry.context.repos.resolveTag("apps/conflict", "stable"), newer.digest);
  assert.equal(
    (await a.registry.context.repos.tagTime("apps/conflict", "stable"))?.toISOString(),
    "2026-01-02T00:00:00.000Z",
  );
  assert.equal(remoteWins(new Date(5), "sha256:a", new Date(5), "sha256:b"), true);
  assert.equal(remoteWins(new Date(6), "sha256:a", new Date(5), "sha256:b"), false);
});

test("replication is rate-limited and, when cut off, resumes on the next run without partial blobs", async (t) => {
  const a = await testRegistry(t);
  const b = await testRegistry(t);
  const http = client(a.base);
  const big = Buffer.alloc(3 * 1024 * 1024, 7);
  const config = await pushBlob(http, "apps/big", "{}");
  const layer = await pushBlob(http, "apps/big", big);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: config, size: 2 },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: layer, size: big.length }],
  });
  await http("/v2/apps/big/manifests/v1", {
    method: "PUT",
    body: manifest,
    headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
  });
  const abort = new AbortController();
  const cut = replicateFrom(b.registry.context.repos, a.base, {
    events: silentEvents,
    rateBytesPerSecond: 1024 * 1024,
    signal: abort.signal,
  });
  await sleep(500);
  abort.abort();
  await assert.rejects(cut);
  assert.equal(await b.registry.context.repos.blobs.has(layer), false);
  assert.ok(!(await readdir(join(b.root, "blobs", "sha256"))).includes(layer.slice(7)));

  const started = Date.now();
  const resumed = await replicateFrom(b.registry.context.repos, a.base, {
    events: silentEvents,
    rateBytesPerSecond: 2 * 1024 * 1024,
  });
  // 3 MiB at 2 MiB/s with a 2 MiB burst cannot finish in under half a second; a slow machine only adds.
  assert.ok(Date.now() - started >= 450, `took ${Date.now() - started} ms`);
  assert.equal(resumed.tagsUpdated, 1);
  assert.equal(await b.registry.context.repos.blobs.verify(layer), true);
  assert.equal(sha(big), layer);
});

test("a registry started with --peer keeps a full copy that skopeo can pull", async (t) => {
  if (!(await hasSkopeo())) return t.skip("skopeo is not installed");
  const work = await tempDir(t, "peer");
  const a = await testRegistry(t);
  const image = await writeOciLayout(join(work, "image"), { layers: 2 });
  await skopeoCopy(`oci:${image.dir}:v1`, `docker://${a.registry.addresses[0]}/apps/peer:v1`, ["--preserve-digests"]);
  const b = await testRegistry(t, { peers: [baseUrl(a.registry)], replicateIntervalMs: 200 });
  let tag: string | undefined;
  for (let i = 0; i < 600 && !tag; i++) {
    tag = await b.registry.context.repos.resolveTag("apps/peer", "v1");
    if (!tag) await sleep(50);
  }
  assert.equal(tag, image.manifestDigest);
  await a.registry.close();
  await skopeoCopy(`docker://${b.registry.addresses[0]}/apps/peer:v1`, `oci:${join(work, "out")}:v1`, [
    "--preserve-digests",
  ]);
  assert.equal((await readIndex(join(work, "out"))).manifests[0]!.digest, image.manifestDigest);
});

test("replication carries sha512 images: the copy answers the same sha512 digests and verifies its blobs", async (t) => {
  const a = await testRegistry(t);
  const b = await testRegistry(t);
  const image = await pushImage(client(a.base), "apps/sha512", "v1", "sha512 layer to replicate", {}, "sha512");
  await pushImage(client(a.base), "apps/sha512", "v2", "sha256 layer beside it");
  const first = await replicateFrom(b.registry.context.repos, a.base, { events: silentEvents });
  assert.equal(first.tagsUpdated, 2);
  const copy = client(b.base);
  const res = await copy("/v2/apps/sha512/manifests/v1");
  assert.equal(res.headers.get("docker-content-digest"), image.digest);
  assert.equal(await res.text(), image.manifest);
  assert.equal((await copy(`/v2/apps/sha512/manifests/${image.digest}`, { method: "HEAD" })).status, 200);
  for (const digest of [image.digest, image.config.digest, image.layer.digest]) {
    assert.equal(await b.registry.context.repos.blobs.verify(digest), true, digest);
  }
  assert.ok((await readdir(join(b.root, "blobs", "sha512"))).includes(image.layer.digest.slice(7)));
  const again = await replicateFrom(b.registry.context.repos, a.base, { events: silentEvents });
  assert.equal(again.blobsCopied, 0);
  assert.equal(again.tagsUpdated, 0);
});
