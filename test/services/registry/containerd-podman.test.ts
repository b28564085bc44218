import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { renderHostsToml } from "../../../src/services/registry/hosts-toml.js";
import { writeHostsDir } from "../../../src/services/registry/transfer.js";
import { openBlobStore } from "../../../src/store/blob-store.js";
import { importOciLayout } from "../../../src/store/oci-layout.js";
import { openRepositories } from "../../../src/store/repositories.js";
import { notOnThisMachine } from "../../helpers/skip.js";
import { hasContainerd, startContainerd } from "../../peers/containerd.js";
import { hasPodman, isolatedPodman } from "../../peers/podman.js";
import { tempDir } from "./harness.js";
import { writeOciLayout } from "./oci-image.js";
import { spawnRegistry } from "./registry-process.js";

test("renderHostsToml makes the replicas the hosts and the server, trusting the site CA", async () => {
  const toml = renderHostsToml({
    endpoints: ["https://k8s-server-01.edge.lan:5000", "https://k8s-server-02.edge.lan:5000"],
    caFile: "/etc/airstrap/site-ca.crt",
  });
  assert.match(toml, /^server = "https:\/\/k8s-server-01\.edge\.lan:5000"$/m);
  assert.equal(toml.match(/^\[host\./gm)?.length, 2);
  assert.equal(toml.match(/ca = "\/etc\/airstrap\/site-ca\.crt"/g)?.length, 2);
  assert.doesNotMatch(toml, /docker\.io|registry-1/);
  await assert.rejects(
    writeHostsDir("/nonexistent-never-written", ["../etc"], { endpoints: ["https://r:5000"] }),
    /registry host name/,
  );
});

test("ctr pulls docker.io/library/demo through a generated hosts.toml over TLS with the site CA", async (t) => {
  if (!(await hasContainerd())) return t.skip("containerd/ctr are not installed");
  if (process.getuid?.() !== 0) return t.skip(notOnThisMachine("containerd needs root to run its own instance"));
  const work = await tempDir(t, "ctr");
  const image = await writeOciLayout(join(work, "image"), { layers: 2 });
  const root = join(work, "store");
  // The store is shared: what the artifact side imports is what the registry serves.
  await importOciLayout(openRepositories(await openBlobStore(root)), image.dir, {
    repository: "docker.io/library/demo",
  });
  const stateDir = join(work, "state");
  const registry = await spawnRegistry(["--root", root, "--listen", "127.0.0.1:0", "--state-dir", stateDir], t);
  const hostsDir = join(work, "certs.d");
  const written = await writeHostsDir(hostsDir, ["docker.io", "quay.io"], {
    endpoints: [`https://${registry.host}`],
    caFile: join(stateDir, "site-ca.crt"),
  });
  assert.deepEqual(written, [join(hostsDir, "docker.io", "hosts.toml"), join(hostsDir, "quay.io", "hosts.toml")]);
  const containerd = await startContainerd(t);
  await containerd.ctr([
    "-n",
    "airstrap-test",
    "images",
    "pull",
    "--hosts-dir",
    hostsDir,
    "--snapshotter",
    "native",
    "docker.io/library/demo:v1",
  ]);
  const listed = await containerd.ctr(["-n", "airstrap-test", "images", "ls"]);
  assert.match(listed, new RegExp(`docker.io/library/demo:v1\\s+\\S+\\s+${image.manifestDigest}`));
});

test("podman pulls from the registry", async (t) => {
  if (!(await hasPodman())) return t.skip("podman is not installed");
  const work = await tempDir(t, "podman");
  const image = await writeOciLayout(join(work, "image"), { layers: 2 });
  const root = join(work, "store");
  await importOciLayout(openRepositories(await openBlobStore(root)), image.dir, { repository: "apps/podman" });
  const registry = await spawnRegistry(["--root", root, "--listen", "127.0.0.1:0"], t);
  const podman = await isolatedPodman(t);
  await podman(["pull", "--tls-verify=false", `${registry.host}/apps/podman:v1`]);
  const digest = (
    await podman(["image", "inspect", "--format", "{{.Digest}}", `${registry.host}/apps/podman:v1`])
  ).trim();
  assert.equal(digest, image.manifestDigest);
});
