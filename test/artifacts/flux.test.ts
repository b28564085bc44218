import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { findFile, findImage, findRelease, readArtifactIndex } from "../../src/artifacts/artifact-index.js";
import { createBundle } from "../../src/artifacts/bundle/create.js";
import { loadBundle } from "../../src/artifacts/bundle/load.js";
import { loadOrCreateSigningKey } from "../../src/artifacts/bundle/signing.js";
import { trustKey } from "../../src/artifacts/bundle/trust.js";
import { checkArtifacts } from "../../src/artifacts/check.js";
import { fluxImagesInStore, fluxInstallInStore, pullFlux } from "../../src/artifacts/flux-artifacts.js";
import { fluxCatalog } from "../../src/artifacts/flux-catalog.js";
import { imagesOf, parseManifestObjects } from "../../src/artifacts/manifest-images.js";
import { artifactsFromPlan, contentFor } from "../../src/artifacts/plan-artifacts.js";
import { OperatorError } from "../../src/errors.js";
import { silentEvents } from "../../src/events.js";
import { applyDefaults } from "../../src/manifest/defaults.js";
import { clusterManifestSchema } from "../../src/manifest/schema.js";
import { planCluster } from "../../src/plan/plan.js";
import { openBlobStore } from "../../src/store/blob-store.js";
import { FLUX_CONTROLLERS, syntheticFluxInstall } from "../helpers/flux-release.js";
import { siteManifest } from "../helpers/site-manifest.js";
import { hasDockerRegistry, startDockerRegistry } from "../peers/docker-registry-artifacts.js";
import { hasSkopeo, skopeoCopy } from "../peers/skopeo.js";
import { tempDir } from "./bundle/fixtures.js";
import { writeMultiArchLayout } from "./oci-images.js";
import { startReleaseMirror, sumsFileFor } from "./release-mirror.js";

const VERSION = "v2.9.4";
const fastRetry = { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 };

test("the Flux catalog names goreleaser's checksums file and install.yaml on the release site", () => {
  const catalog = fluxCatalog({ version: VERSION });
  assert.deepEqual(
    catalog.files.map((f) => f.location),
    [
      "https://github.com/fluxcd/flux2/releases/download/v2.9.4/flux_2.9.4_checksums.txt",
      "https://github.com/fluxcd/flux2/releases/download/v2.9.4/install.yaml",
    ],
  );
  assert.equal(catalog.installFile.verification, "sums", "install.yaml is held to the release's checksum");
  assert.equal(catalog.sumsFile.verification, "pinned");
  assert.equal(
    fluxCatalog({ version: "v2.10.0-rc.1", source: "http://127.0.0.1:9/flux/" }).sumsFile.location,
    "http://127.0.0.1:9/flux/v2.10.0-rc.1/flux_2.10.0-rc.1_checksums.txt",
  );
  assert.equal(
    fluxCatalog({ version: VERSION, source: "mirror", baseDir: "/site" }).installFile.location,
    "/site/mirror/install.yaml",
  );
  assert.throws(() => fluxCatalog({ version: "2.9.4" }), OperatorError);
  assert.throws(() => fluxCatalog({ version: "latest" }), /not a release version/);
});

test("the images of install.yaml are those its workloads run, each once", () => {
  const text = `${syntheticFluxInstall({
    "source-controller": "ghcr.io/fluxcd/source-controller:v1.9.4",
    "kustomize-controller": "ghcr.io/fluxcd/kustomize-controller:v1.9.2",
    "helm-controller": "ghcr.io/fluxcd/helm-controller:v1.6.0",
    "notification-controller": "ghcr.io/fluxcd/source-controller:v1.9.4",
  })}---\n# an empty document\n`;
  assert.deepEqual(imagesOf(parseManifestObjects(text, "install.yaml")), [
    "ghcr.io/fluxcd/source-controller:v1.9.4",
    "ghcr.io/fluxcd/kustomize-controller:v1.9.2",
    "ghcr.io/fluxcd/helm-controller:v1.6.0",
  ]);
  assert.throws(() => parseManifestObjects("a: [", "install.yaml"), /install\.yaml:/);
});

test("a staged site carries Flux: pulled from a mirror, checked against its checksums, images from a registry, bundled and loaded", async (t) => {
  if (!(await hasSkopeo()) || !(await hasDockerRegistry())) {
    t.skip("needs skopeo and docker-registry (scripts/install-deps.sh installs them)");
    return;
  }
  const dir = await tempDir(t, "flux");
  const layout = await writeMultiArchLayout(join(dir, "layout"), "1.0");
  const upstream = await startDockerRegistry();
  t.after(() => upstream.stop());
  const images = Object.fromEntries(
    FLUX_CONTROLLERS.map((name) => [name, `${upstream.host}/fluxcd/${name}:v1.0.0`]),
  ) as Record<(typeof FLUX_CONTROLLERS)[number], string>;
  for (const image of Object.values(images))
    await skopeoCopy(`oci:${layout.dir}:1.0`, `docker://${image}`, ["--all", "--preserve-digests"]);
  const install = Buffer.from(syntheticFluxInstall(images));
  const release = { "install.yaml": install, "manifests.tar.gz": Buffer.from("not carried") };
  const mirror = await startReleaseMirror(t, "fluxcd/flux2", VERSION, {
    ...release,
    "flux_2.9.4_checksums.txt": sumsFileFor(release),
  });

  const manifest = clusterManifestSchema.parse(
    siteManifest({
      distro: { name: "k3s", version: "v1.31.4+k3s1" },
      stages: [{ name: "bootstrap", path: "stages/bootstrap" }],
      gitops: { flux: { version: VERSION, source: mirror.source } },
    }),
  );
  const needed = artifactsFromPlan(planCluster(applyDefaults(manifest)), dir);
  assert.ok(needed.flux, "a site with stages needs Flux");
  const store = await openBlobStore(join(dir, "store"));
  const pulled = await pullFlux({ store, catalog: needed.flux, arch: "amd64", events: silentEvents, retry: fastRetry });
  assert.deepEqual(
    pulled.files.map((f) => f.name),
    ["flux_2.9.4_checksums.txt", "install.yaml"],
  );
  assert.deepEqual(
    pulled.images.map((i) => i.reference),
    Object.values(images),
  );
  assert.ok(!mirror.requests.some((r) => r.file === "manifests.tar.gz"), "only install.yaml is carried");
  assert.equal(await fluxInstallInStore(store, needed.flux), install.toString());
  const index = await readArtifactIndex(store.root);
  for (const image of Object.values(images))
    assert.equal(findImage(index, image, "amd64")?.digest, layout.indexDigest, image);

  const report = await checkArtifacts(store, needed);
  assert.ok(
    report.ok.some((line) => line.startsWith("install.yaml sha256:")),
    "check re-verifies install.yaml",
  );
  for (const image of Object.values(images))
    assert.ok(
      report.ok.some((line) => line.startsWith(image)),
      image,
    );
  assert.ok(
    report.ok.includes(
      `airstrap/releases/flux:v2.9.4-all ${findRelease(index, { distro: "flux", version: VERSION, arch: "all" })!.digest}`,
    ),
  );
  assert.ok(!report.problems.some((p) => /install\.yaml|flux|fluxcd/.test(p.what)), JSON.stringify(report.problems));

  // Only Flux is in this store: the bundle's content is computed for Flux's part.
  const fluxOnly = { ...needed, catalog: { ...needed.catalog, files: [] }, images: [] };
  const content = contentFor(fluxOnly, index, await fluxImagesInStore(store, needed.flux));
  assert.deepEqual(content.files.map((f) => f.name).sort(), ["flux_2.9.4_checksums.txt", "install.yaml"]);
  assert.equal(content.images.length, 4);
  assert.throws(() => contentFor(fluxOnly, index, [`${upstream.host}/fluxcd/missing:v1`]), /fluxcd\/missing:v1/);

  const key = await loadOrCreateSigningKey(join(dir, "state"));
  const bundle = join(dir, "flux.bundle");
  await createBundle({
    store,
    output: bundle,
    content,
    manifest: { file: "cluster.yaml", text: "", cluster: "site" },
    signingKey: key,
    events: silentEvents,
  });
  await upstream.stop();
  const airgapped = await openBlobStore(join(dir, "airgapped"));
  await loadBundle([bundle], airgapped, trustKey(key.publicKey), silentEvents);
  assert.equal(await fluxInstallInStore(airgapped, needed.flux), install.toString(), "install.yaml crossed the gap");
  const loaded = await readArtifactIndex(airgapped.root);
  for (const image of Object.values(images)) assert.ok(findImage(loaded, image, "amd64"), `${image} crossed the gap`);
});

test("an install.yaml that does not match the release's checksum is refused and never recorded", async (t) => {
  const dir = await tempDir(t, "flux-tampered");
  const install = Buffer.from(
    syntheticFluxInstall({
      "source-controller": "127.0.0.1:9/a:1",
      "kustomize-controller": "127.0.0.1:9/b:1",
      "helm-controller": "127.0.0.1:9/c:1",
      "notification-controller": "127.0.0.1:9/d:1",
    }),
  );
  const mirror = await startReleaseMirror(t, "fluxcd/flux2", VERSION, {
    "install.yaml": Buffer.concat([install, Buffer.from("# changed\n")]),
    "flux_2.9.4_checksums.txt": sumsFileFor({ "install.yaml": install }),
  });
  const store = await openBlobStore(join(dir, "store"));
  const catalog = fluxCatalog({ version: VERSION, source: mirror.source });
  await assert.rejects(
    pullFlux({ store, catalog, arch: "amd64", events: silentEvents, retry: fastRetry }),
    (error: unknown) => error instanceof OperatorError && /install\.yaml/.test(error.message),
  );
  const index = await readArtifactIndex(store.root);
  assert.equal(findFile(index, { distro: "flux", version: VERSION, arch: "all", name: "install.yaml" }), undefined);
  await assert.rejects(fluxInstallInStore(store, catalog), /lacks Flux v2\.9\.4 install\.yaml/);
});
