import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { findImage, readArtifactIndex } from "../../src/artifacts/artifact-index.js";
import { createBundle } from "../../src/artifacts/bundle/create.js";
import { loadBundle } from "../../src/artifacts/bundle/load.js";
import { loadOrCreateSigningKey } from "../../src/artifacts/bundle/signing.js";
import { trustKey } from "../../src/artifacts/bundle/trust.js";
import { pullImages } from "../../src/artifacts/pull-images.js";
import { OperatorError } from "../../src/errors.js";
import { silentEvents } from "../../src/events.js";
import { DEFAULT_MAX_MANIFEST_BYTES } from "../../src/services/registry/config.js";
import { startRegistry } from "../../src/services/registry/service.js";
import { openBlobStore } from "../../src/store/blob-store.js";
import type { Digest } from "../../src/store/digest.js";
import { hasDockerRegistry, startDockerRegistry } from "../peers/docker-registry-artifacts.js";
import { hasSkopeo, skopeo, skopeoCopy } from "../peers/skopeo.js";
import { tempDir } from "./bundle/fixtures.js";
import { startCuttingProxy } from "./cutting-proxy.js";
import { writeMultiArchLayout } from "./oci-images.js";
import { startTokenServer } from "./token-server.js";

const fastRetry = { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 };
const sha = (text: string) => `sha256:${createHash("sha256").update(text).digest("hex")}`;

test("images pulled from docker-registry narrow to the cluster's arch, keep their digests, and are served again by airstrap's registry", async (t) => {
  if (!(await hasSkopeo()) || !(await hasDockerRegistry())) {
    t.skip("needs skopeo and docker-registry (scripts/install-deps.sh installs them)");
    return;
  }
  const dir = await tempDir(t, "images");
  const layout = await writeMultiArchLayout(join(dir, "layout"), "1.0");
  const upstream = await startDockerRegistry();
  t.after(() => upstream.stop());
  await skopeoCopy(`oci:${layout.dir}:1.0`, `docker://${upstream.host}/test/app:1.0`, ["--all", "--preserve-digests"]);
  const upstreamRaw = await skopeo([
    "inspect",
    "--raw",
    "--tls-verify=false",
    `docker://${upstream.host}/test/app:1.0`,
  ]);
  assert.equal(sha(upstreamRaw), layout.indexDigest, "docker-registry keeps the index byte for byte");

  const store = await openBlobStore(join(dir, "store"));
  const reference = `${upstream.host}/test/app:1.0`;
  const pinnedRef = `${upstream.host}/test/app@${layout.manifests.amd64!.digest}`;
  const [tagged, pinned] = await pullImages({
    store,
    images: [reference, pinnedRef],
    arch: "amd64",
    events: silentEvents,
    retry: fastRetry,
  });
  assert.equal(tagged!.digest, layout.indexDigest);
  assert.equal(pinned!.digest, layout.manifests.amd64!.digest);
  const amd = layout.manifests.amd64!;
  for (const digest of [layout.indexDigest, amd.digest, amd.config, amd.layer])
    assert.ok(await store.verify(digest as Digest), digest);
  assert.equal(await store.has(layout.manifests.arm64!.layer as Digest), false, "the arm64 layer is not fetched");
  const record = findImage(await readArtifactIndex(store.root), reference, "amd64")!;
  assert.equal(record.repository, "test/app");
  assert.deepEqual(
    record.manifests.map((m) => m.digest),
    [amd.digest, layout.indexDigest],
  );

  await upstream.stop();
  const again = await pullImages({ store, images: [reference], arch: "amd64", events: silentEvents, retry: fastRetry });
  assert.equal(again[0]!.outcome, "present", "a pinned, complete image is not fetched again (the upstream is gone)");

  const registry = await startRegistry(
    {
      root: store.root,
      listen: ["127.0.0.1:0"],
      auth: { anonymousPullNetworks: [] },
      upstreams: [],
      peers: [],
      maxManifestBytes: DEFAULT_MAX_MANIFEST_BYTES,
    },
    silentEvents,
  );
  t.after(() => registry.close());
  const served = `docker://${registry.addresses[0]}/test/app:1.0`;
  assert.equal(sha(await skopeo(["inspect", "--raw", "--tls-verify=false", served])), layout.indexDigest);
  const out = join(dir, "out");
  await skopeoCopy(served, `oci:${out}:copy`, [
    "--override-arch",
    "amd64",
    "--override-os",
    "linux",
    "--preserve-digests",
  ]);
  const copied = JSON.parse(await readFile(join(out, "index.json"), "utf8")) as {
    manifests: Array<{ digest: string }>;
  };
  assert.equal(copied.manifests[0]!.digest, amd.digest, "skopeo gets the amd64 manifest with its upstream digest");
  assert.equal(
    createHash("sha256")
      .update(await readFile(join(out, "blobs/sha256", amd.layer.slice(7))))
      .digest("hex"),
    amd.layer.slice(7),
  );
});

test("an image without the cluster's architecture is refused, naming what it offers", async (t) => {
  if (!(await hasSkopeo()) || !(await hasDockerRegistry())) {
    t.skip("needs skopeo and docker-registry (scripts/install-deps.sh installs them)");
    return;
  }
  const dir = await tempDir(t, "images-arch");
  const layout = await writeMultiArchLayout(join(dir, "layout"), "1.0");
  const upstream = await startDockerRegistry();
  t.after(() => upstream.stop());
  await skopeoCopy(`oci:${layout.dir}:1.0`, `docker://${upstream.host}/test/app:1.0`, ["--all", "--preserve-digests"]);
  const store = await openBlobStore(join(dir, "store"));
  await assert.rejects(
    pullImages({
      store,
      images: [`${upstream.host}/test/app:1.0`, `${upstream.host}/test/missing:1.0`],
      arch: "s390x",
      events: silentEvents,
      retry: fastRetry,
    }),
    (error: unknown) => {
      assert.ok(error instanceof OperatorError);
      assert.match(error.message, /no linux\/s390x image in its index \(it has: linux\/amd64, linux\/arm64\)/);
      assert.match(error.message, /test\/missing:1\.0: not found/);
      return true;
    },
  );
});

test("an image layer cut mid-transfer resumes with a Range request to docker-registry", async (t) => {
  if (!(await hasSkopeo()) || !(await hasDockerRegistry())) {
    t.skip("needs skopeo and docker-registry (scripts/install-deps.sh installs them)");
    return;
  }
  const dir = await tempDir(t, "images-cut");
  const layout = await writeMultiArchLayout(join(dir, "layout"), "1.0");
  const upstream = await startDockerRegistry();
  t.after(() => upstream.stop());
  await skopeoCopy(`oci:${layout.dir}:1.0`, `docker://${upstream.host}/test/app:1.0`, ["--all", "--preserve-digests"]);
  const proxy = await startCuttingProxy(t, upstream.host);
  proxy.cutAfter(120_000);
  const store = await openBlobStore(join(dir, "store"));
  const [pulled] = await pullImages({
    store,
    images: [`${proxy.host}/test/app:1.0`],
    arch: "amd64",
    events: silentEvents,
    retry: fastRetry,
  });
  assert.equal(proxy.cuts, 1);
  assert.match(proxy.sent(), /^range: bytes=\d+-\r$/im, "the retry asked for the rest only");
  assert.equal(pulled!.digest, layout.indexDigest);
  assert.ok(await store.verify(layout.manifests.amd64!.layer as Digest));
  assert.deepEqual(await readdir(join(store.root, "tmp")), [], "no partial blob is left");
});

test("a registry that wants bearer tokens (as docker.io does) is pulled from with an anonymous token for the repository", async (t) => {
  if (!(await hasSkopeo()) || !(await hasDockerRegistry())) {
    t.skip("needs skopeo and docker-registry (scripts/install-deps.sh installs them)");
    return;
  }
  const dir = await tempDir(t, "images-token");
  const layout = await writeMultiArchLayout(join(dir, "layout"), "1.0");
  const tokens = await startTokenServer(t, dir);
  const upstream = await startDockerRegistry({ token: tokens });
  t.after(() => upstream.stop());
  const anonymous = await fetch(`http://${upstream.host}/v2/test/app/manifests/1.0`);
  await anonymous.body?.cancel();
  assert.equal(anonymous.status, 401, "the registry refuses requests without a token");
  await skopeoCopy(`oci:${layout.dir}:1.0`, `docker://${upstream.host}/test/app:1.0`, ["--all", "--preserve-digests"]);
  tokens.scopes.length = 0;
  const store = await openBlobStore(join(dir, "store"));
  const [pulled] = await pullImages({
    store,
    images: [`${upstream.host}/test/app:1.0`],
    arch: "amd64",
    events: silentEvents,
    retry: fastRetry,
  });
  assert.equal(pulled!.digest, layout.indexDigest);
  assert.deepEqual(tokens.scopes, ["repository:test/app:pull"], "one token, for pulling that repository only");
  assert.ok(await store.verify(layout.manifests.amd64!.layer as Digest));
});

test("pulled images cross in a bundle: loaded on the other side, airstrap's registry serves them with the upstream digests", async (t) => {
  if (!(await hasSkopeo()) || !(await hasDockerRegistry())) {
    t.skip("needs skopeo and docker-registry (scripts/install-deps.sh installs them)");
    return;
  }
  const dir = await tempDir(t, "images-bundle");
  const layout = await writeMultiArchLayout(join(dir, "layout"), "1.0");
  const upstream = await startDockerRegistry();
  t.after(() => upstream.stop());
  await skopeoCopy(`oci:${layout.dir}:1.0`, `docker://${upstream.host}/test/app:1.0`, ["--all", "--preserve-digests"]);
  const connected = await openBlobStore(join(dir, "connected"));
  const reference = `${upstream.host}/test/app:1.0`;
  await pullImages({ store: connected, images: [reference], arch: "amd64", events: silentEvents, retry: fastRetry });
  await upstream.stop();

  const key = await loadOrCreateSigningKey(join(dir, "state"));
  const index = await readArtifactIndex(connected.root);
  const bundle = join(dir, "images.bundle");
  await createBundle({
    store: connected,
    output: bundle,
    content: { files: [], images: [findImage(index, reference, "amd64")!] },
    manifest: { file: "cluster.yaml", text: "", cluster: "lab" },
    signingKey: key,
    events: silentEvents,
  });
  const airgapped = await openBlobStore(join(dir, "airgapped"));
  await loadBundle([bundle], airgapped, trustKey(key.publicKey), silentEvents);

  const registry = await startRegistry(
    {
      root: airgapped.root,
      listen: ["127.0.0.1:0"],
      auth: { anonymousPullNetworks: [] },
      upstreams: [],
      peers: [],
      maxManifestBytes: DEFAULT_MAX_MANIFEST_BYTES,
    },
    silentEvents,
  );
  t.after(() => registry.close());
  const served = `docker://${registry.addresses[0]}/test/app:1.0`;
  assert.equal(sha(await skopeo(["inspect", "--raw", "--tls-verify=false", served])), layout.indexDigest);
  const out = join(dir, "out");
  await skopeoCopy(served, `oci:${out}:copy`, [
    "--override-arch",
    "amd64",
    "--override-os",
    "linux",
    "--preserve-digests",
  ]);
  const copied = JSON.parse(await readFile(join(out, "index.json"), "utf8")) as {
    manifests: Array<{ digest: string }>;
  };
  assert.equal(copied.manifests[0]!.digest, layout.manifests.amd64!.digest);
});
