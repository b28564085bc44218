import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { releaseCatalog } from "../../src/artifacts/catalog.js";
import { checkArtifacts } from "../../src/artifacts/check.js";
import { pullArtifacts } from "../../src/artifacts/pull.js";
import { silentEvents } from "../../src/events.js";
import { DEFAULT_MAX_MANIFEST_BYTES } from "../../src/services/registry/config.js";
import { collectGarbage } from "../../src/services/registry/gc.js";
import { startRegistry } from "../../src/services/registry/service.js";
import { openBlobStore } from "../../src/store/blob-store.js";
import { hasDockerRegistry, startDockerRegistry } from "../peers/docker-registry-artifacts.js";
import { hasSkopeo, skopeoCopy } from "../peers/skopeo.js";
import { random, tempDir } from "./bundle/fixtures.js";
import { writeMultiArchLayout } from "./oci-images.js";
import { startReleaseMirror, sumsFileFor } from "./release-mirror.js";

test("the registry's garbage collector keeps everything pulled: release files, tagged and digest-pinned images", async (t) => {
  if (!(await hasSkopeo()) || !(await hasDockerRegistry())) {
    t.skip("needs skopeo and docker-registry (scripts/install-deps.sh installs them)");
    return;
  }
  const dir = await tempDir(t, "gc");
  const release = { k3s: random(300_000), "k3s-airgap-images-amd64.tar.zst": random(200_000) };
  const mirror = await startReleaseMirror(t, "k3s-io/k3s", "v1.31.4+k3s1", {
    ...release,
    "sha256sum-amd64.txt": sumsFileFor(release),
    "install.sh": Buffer.from("#!/bin/sh\n"),
  });
  const layout = await writeMultiArchLayout(join(dir, "layout"), "1.0");
  const upstream = await startDockerRegistry();
  t.after(() => upstream.stop());
  await skopeoCopy(`oci:${layout.dir}:1.0`, `docker://${upstream.host}/test/app:1.0`, ["--all", "--preserve-digests"]);
  const needed = {
    catalog: releaseCatalog({ distro: "k3s", version: "v1.31.4+k3s1", arch: "amd64", source: mirror.source }),
    images: [`${upstream.host}/test/app:1.0`, `${upstream.host}/test/pinned@${layout.manifests.amd64!.digest}`],
    arch: "amd64",
    boot: [],
  };
  await skopeoCopy(`oci:${layout.dir}:1.0`, `docker://${upstream.host}/test/pinned:1.0`, [
    "--all",
    "--preserve-digests",
  ]);
  const root = join(dir, "store");
  await pullArtifacts(root, needed, silentEvents, { retry: { attempts: 2, baseDelayMs: 5, maxDelayMs: 10 } });
  assert.deepEqual((await checkArtifacts(await openBlobStore(root), needed)).problems, []);

  const registry = await startRegistry(
    {
      root,
      listen: ["127.0.0.1:0"],
      auth: { anonymousPullNetworks: [] },
      upstreams: [],
      peers: [],
      maxManifestBytes: DEFAULT_MAX_MANIFEST_BYTES,
    },
    silentEvents,
  );
  t.after(() => registry.close());
  const { repos, uploads, gate } = registry.context;
  const report = await collectGarbage(repos, uploads, gate, { graceMs: 0, uploadMaxAgeMs: 0, events: silentEvents });
  assert.equal(report.blobsRemoved, 0);
  assert.deepEqual((await checkArtifacts(await openBlobStore(root), needed)).problems, []);
});
