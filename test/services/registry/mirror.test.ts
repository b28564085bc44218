import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type AirstrapEvent, createEvents } from "../../../src/events.js";
import { mirrorNames } from "../../../src/services/registry/mirror.js";
import { startRegistry } from "../../../src/services/registry/service.js";
import { hasDockerRegistry, startDockerRegistry } from "../../peers/docker-registry.js";
import { hasSkopeo, skopeo, skopeoCopy } from "../../peers/skopeo.js";
import { baseUrl, client, pushImage, registryConfig, sha, tempDir, testRegistry } from "./harness.js";
import { readIndex, writeOciLayout } from "./oci-image.js";

test("pull-through from Distribution 2.8: streams and caches, then serves the cache when the upstream is gone", async (t) => {
  if (!(await hasSkopeo())) return t.skip("skopeo is not installed");
  if (!(await hasDockerRegistry())) return t.skip("docker-registry (Distribution) is not installed");
  const work = await tempDir(t, "mirror");
  const upstream = await startDockerRegistry(t);
  const image = await writeOciLayout(join(work, "image"), { layers: 3, layerBytes: 2 * 1024 * 1024 });
  await skopeoCopy(`oci:${image.dir}:v1`, `docker://${upstream.host}/library/demo:v1`, ["--preserve-digests"]);

  const events = createEvents();
  const seen: AirstrapEvent[] = [];
  events.subscribe((event) => seen.push(event));
  const root = join(work, "store");
  const mirror = await startRegistry(registryConfig(root, { upstreams: [upstream.url] }), events);
  t.after(() => mirror.close());
  const host = mirror.addresses[0]!;

  await skopeoCopy(`docker://${host}/library/demo:v1`, `oci:${join(work, "first")}:v1`, ["--preserve-digests"]);
  assert.equal((await readIndex(join(work, "first"))).manifests[0]!.digest, image.manifestDigest);
  const cached = await readdir(join(root, "blobs", "sha256"));
  for (const layer of image.layerDigests) assert.ok(cached.includes(layer.slice(7)), `layer ${layer} was not cached`);

  // containerd asks with ?ns=; the mirror passes it on, answers the same content, and caches it
  // apart from what other upstream registries call library/demo.
  const viaNs = await fetch(`${baseUrl(mirror)}/v2/library/demo/manifests/v1?ns=docker.io`);
  assert.equal(viaNs.headers.get("docker-content-digest"), image.manifestDigest);
  const layerViaNs = await fetch(`${baseUrl(mirror)}/v2/library/demo/blobs/${image.layerDigests[0]}?ns=docker.io`);
  assert.equal(layerViaNs.status, 200);
  await layerViaNs.arrayBuffer();
  assert.deepEqual(await mirror.context.repos.listRepositories(), ["docker.io/library/demo", "library/demo"]);
  assert.deepEqual(mirrorNames("library/demo", "quay.io"), { upstream: "library/demo", local: "quay.io/library/demo" });
  assert.deepEqual(mirrorNames("docker.io/library/demo", "docker.io"), {
    upstream: "library/demo",
    local: "docker.io/library/demo",
  });

  await upstream.stop();
  await skopeoCopy(`docker://${host}/library/demo:v1`, `oci:${join(work, "second")}:v1`, ["--preserve-digests"]);
  assert.equal((await readIndex(join(work, "second"))).manifests[0]!.digest, image.manifestDigest);
  const raw = await skopeo([
    "inspect",
    "--tls-verify=false",
    "--raw",
    `docker://${host}/library/demo@${image.manifestDigest}`,
  ]);
  assert.equal(sha(raw), image.manifestDigest);
  assert.ok(
    seen.some((e) => e.kind === "registry.upstream.unavailable"),
    "the outage was reported as an event",
  );
  const missing = await fetch(`${baseUrl(mirror)}/v2/library/other/manifests/v1`);
  assert.equal(missing.status, 404);
});

test("a blob the upstream is still sending when it dies is not stored", async (t) => {
  if (!(await hasDockerRegistry())) return t.skip("docker-registry (Distribution) is not installed");
  if (!(await hasSkopeo())) return t.skip("skopeo is not installed");
  const work = await tempDir(t, "mirror-cut");
  const upstream = await startDockerRegistry(t);
  const image = await writeOciLayout(join(work, "image"), { layers: 1, layerBytes: 64 * 1024 * 1024 });
  await skopeoCopy(`oci:${image.dir}:v1`, `docker://${upstream.host}/big/one:v1`, ["--preserve-digests"]);
  const root = join(work, "store");
  const mirror = await startRegistry(registryConfig(root, { upstreams: [upstream.url] }), createEvents());
  t.after(() => mirror.close());
  const res = await fetch(`${baseUrl(mirror)}/v2/big/one/blobs/${image.layerDigests[0]}`);
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  const first = await reader.read();
  assert.ok(first.value && first.value.length > 0);
  await upstream.stop();
  // Drain what is left; the transfer must end in an error or short, never as a complete blob.
  let received = first.value.length;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.length;
    }
  } catch {
    // The relay was cut, as it must be.
  }
  const stored = await readdir(join(root, "blobs", "sha256"));
  // The relay waits for this client, so the upstream cannot have finished 64 MiB before it died.
  assert.ok(received < image.totalBytes, `received ${received} of ${image.totalBytes}`);
  assert.ok(!stored.includes(image.layerDigests[0]!.slice(7)), "a cut transfer must not be cached");
  // The temp file goes in the relay's cleanup, which may finish just after the client saw the cut.
  for (let i = 0; i < 100 && (await readdir(join(root, "tmp"))).length > 0; i++) await sleep(20);
  assert.deepEqual(await readdir(join(root, "tmp")), []);
});

test("pull-through of a sha512 image: the tag answers the upstream's sha512 digest, blobs cache under blobs/sha512", async (t) => {
  const upstream = await testRegistry(t);
  const image = await pushImage(
    client(upstream.base),
    "apps/sha512",
    "v1",
    "sha512 layer via the mirror",
    {},
    "sha512",
  );
  const root = await tempDir(t, "mirror-sha512");
  const mirror = await startRegistry(registryConfig(root, { upstreams: [upstream.base] }), createEvents());
  t.after(() => mirror.close());
  const http = client(baseUrl(mirror));
  const byTag = await http("/v2/apps/sha512/manifests/v1");
  assert.equal(byTag.status, 200);
  assert.equal(byTag.headers.get("docker-content-digest"), image.digest);
  assert.equal(await byTag.text(), image.manifest);
  for (const blob of [image.config, image.layer]) {
    const res = await http(`/v2/apps/sha512/blobs/${blob.digest}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("docker-content-digest"), blob.digest);
    await res.arrayBuffer();
  }
  // A relayed blob is adopted into the store just after its last byte went to the client.
  const cached = () => mirror.context.repos.blobs;
  for (const digest of [image.digest, image.config.digest, image.layer.digest]) {
    for (let i = 0; i < 100 && !(await cached().has(digest)); i++) await sleep(20);
    assert.ok(await cached().verify(digest), `${digest} was not cached`);
  }
  const files = await readdir(join(root, "blobs", "sha512"));
  assert.equal(files.length, 3);
  await upstream.registry.close();
  const fromCache = await http("/v2/apps/sha512/manifests/v1", { method: "HEAD" });
  assert.equal(fromCache.headers.get("docker-content-digest"), image.digest);
  assert.equal(await (await http(`/v2/apps/sha512/blobs/${image.layer.digest}`)).text(), "sha512 layer via the mirror");
});
