import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { readArtifactIndex } from "../../src/artifacts/artifact-index.js";
import { createBundle } from "../../src/artifacts/bundle/create.js";
import { BundleDamageError } from "../../src/artifacts/bundle/damage.js";
import { loadBundle } from "../../src/artifacts/bundle/load.js";
import { loadOrCreateSigningKey } from "../../src/artifacts/bundle/signing.js";
import { trustKey } from "../../src/artifacts/bundle/trust.js";
import { verifyBundle } from "../../src/artifacts/bundle/verify.js";
import { pullImages } from "../../src/artifacts/pull-images.js";
import { silentEvents } from "../../src/events.js";
import { startRegistry } from "../../src/services/registry/service.js";
import { openBlobStore } from "../../src/store/blob-store.js";
import { openRepositories } from "../../src/store/repositories.js";
import { baseUrl, client, pushImage, registryConfig, testRegistry } from "../services/registry/harness.js";
import { newStore, snapshot, tempDir } from "./bundle/fixtures.js";

const fastRetry = { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 };
const manifest = { file: "cluster.yaml", text: "kind: Cluster\n", cluster: "edge" };

test("a sha512 image is pulled, bundled, verified on load (tampering refused) and served again", async (t) => {
  const source = await testRegistry(t);
  const layer = randomBytes(150_000).toString("base64");
  const image = await pushImage(client(source.base), "apps/long", "v1", layer, {}, "sha512");
  const host = source.registry.addresses[0]!;

  const dir = await tempDir(t, "sha512-images");
  const store = await openBlobStore(join(dir, "connected"));
  const [tagged, pinned] = await pullImages({
    store,
    images: [`${host}/apps/long:v1`, `${host}/apps/long@${image.digest}`],
    arch: "amd64",
    events: silentEvents,
    retry: fastRetry,
  });
  assert.equal(tagged!.digest, image.digest);
  assert.equal(pinned!.digest, image.digest);
  for (const digest of [image.digest, image.config.digest, image.layer.digest]) {
    assert.equal(await store.verify(digest), true, digest);
  }
  const repos = openRepositories(store);
  assert.equal(await repos.resolveTag("apps/long", "v1"), image.digest);
  // Pulled by digest alone, the image keeps a tag of its own, cut to a tag's 128 characters.
  assert.equal(await repos.resolveTag("apps/long", `sha512-${image.digest.slice(7, 71)}`), image.digest);

  const content = await readArtifactIndex(store.root);
  const key = await loadOrCreateSigningKey(join(dir, "state"));
  const output = join(dir, "edge.bundle");
  await createBundle({ store, output, content, manifest, signingKey: key, events: silentEvents });
  const { head } = await verifyBundle([output], trustKey(key.publicKey), silentEvents);
  const layerAt = head.index.entries.findIndex((entry) => entry.digest === image.layer.digest);
  assert.equal(head.index.entries[layerAt]!.path, `blobs/sha512/${image.layer.digest.slice(7)}`);

  // One flipped byte inside the sha512 layer: the load names the entry and writes nothing.
  const bytes = await readFile(output);
  const offset = head.layout.contentOffsets[layerAt]! + 1000;
  bytes[offset] = bytes[offset]! ^ 0x01;
  const tampered = join(dir, "tampered.bundle");
  await writeFile(tampered, bytes);
  const refusedStore = await newStore(t, "sha512-refused");
  const before = await snapshot(refusedStore.root);
  await assert.rejects(loadBundle([tampered], refusedStore, trustKey(key.publicKey), silentEvents), (error) => {
    assert.ok(error instanceof BundleDamageError);
    assert.equal(error.kind, "content");
    assert.match(error.message, new RegExp(`blobs/sha512/${image.layer.digest.slice(7)}`));
    return true;
  });
  assert.deepEqual(await snapshot(refusedStore.root), before);

  const site = await openBlobStore(join(dir, "site"));
  const loaded = await loadBundle([output], site, trustKey(key.publicKey), silentEvents);
  assert.equal(loaded.loaded, head.index.entries.length);
  for (const digest of [image.digest, image.config.digest, image.layer.digest]) {
    assert.equal(await site.verify(digest), true, digest);
  }
  const registry = await startRegistry(registryConfig(site.root), silentEvents);
  t.after(() => registry.close());
  const http = client(baseUrl(registry));
  const served = await http("/v2/apps/long/manifests/v1");
  assert.equal(served.status, 200);
  assert.equal(served.headers.get("docker-content-digest"), image.digest);
  assert.equal(await served.text(), image.manifest);
  assert.equal(await (await http(`/v2/apps/long/blobs/${image.layer.digest}`)).text(), layer);
});

test("a split bundle whose sha512 blobs cross part boundaries verifies and loads", async (t) => {
  const source = await testRegistry(t);
  const image = await pushImage(
    client(source.base),
    "apps/split",
    "v1",
    randomBytes(200_000).toString("hex"),
    {},
    "sha512",
  );
  const dir = await tempDir(t, "sha512-split");
  const store = await openBlobStore(join(dir, "connected"));
  await pullImages({
    store,
    images: [`${source.registry.addresses[0]}/apps/split:v1`],
    arch: "amd64",
    events: silentEvents,
    retry: fastRetry,
  });
  const key = await loadOrCreateSigningKey(join(dir, "state"));
  const output = join(dir, "edge.bundle");
  const content = await readArtifactIndex(store.root);
  const created = await createBundle({
    store,
    output,
    content,
    manifest,
    signingKey: key,
    events: silentEvents,
    partSize: 65_536,
  });
  assert.ok(created.parts.length >= 6, `${created.parts.length} parts`);
  const { head } = await verifyBundle([output], trustKey(key.publicKey), silentEvents);
  const layerEntry = head.index.entries.find((entry) => entry.digest === image.layer.digest)!;
  assert.ok((layerEntry.segments?.length ?? 0) > 1, "the layer spans several parts");
  const site = await newStore(t, "sha512-split-site");
  await loadBundle([output], site, trustKey(key.publicKey), silentEvents);
  assert.equal(await site.verify(image.layer.digest), true);
  assert.equal(await openRepositories(site).resolveTag("apps/split", "v1"), image.digest);
});
