import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { OperatorError } from "../../../src/errors.js";
import { openBlobStore } from "../../../src/store/blob-store.js";
import { exportDockerArchive, exportOciArchive, importArchive } from "../../../src/store/oci-archive.js";
import { exportOciLayout, importOciLayout } from "../../../src/store/oci-layout.js";
import { openRepositories } from "../../../src/store/repositories.js";
import { hasSkopeo, skopeo, skopeoCopy } from "../../peers/skopeo.js";
import { sha, tempDir, testRegistry } from "./harness.js";
import { writeOciLayout } from "./oci-image.js";

async function storeAt(root: string) {
  return openRepositories(await openBlobStore(root));
}

test("an OCI layout imports with its digests and the registry serves it to skopeo", async (t) => {
  const work = await tempDir(t, "import");
  const image = await writeOciLayout(join(work, "layout"), { layers: 2 });
  const { root, registry } = await testRegistry(t);
  const repos = await storeAt(root);
  const imported = await importOciLayout(repos, image.dir, { repository: "apps/imported" });
  assert.deepEqual(imported, [{ repo: "apps/imported", reference: "v1", digest: image.manifestDigest }]);
  await assert.rejects(importOciLayout(repos, image.dir), (e: OperatorError) => /--repository/.test(e.hint ?? ""));
  if (!(await hasSkopeo())) return t.skip("skopeo is not installed");
  const raw = await skopeo([
    "inspect",
    "--tls-verify=false",
    "--raw",
    `docker://${registry.addresses[0]}/apps/imported:v1`,
  ]);
  assert.equal(sha(raw), image.manifestDigest);
});

test("oci-archive made by skopeo imports with digests kept, and exports back for skopeo", async (t) => {
  if (!(await hasSkopeo())) return t.skip("skopeo is not installed");
  const work = await tempDir(t, "oci-archive");
  const image = await writeOciLayout(join(work, "layout"), { layers: 3, layerBytes: 2 * 1024 * 1024 });
  const archive = join(work, "image.oci.tar");
  await skopeoCopy(`oci:${image.dir}:v1`, `oci-archive:${archive}:docker.io/library/demo:1.0`, ["--preserve-digests"]);
  const repos = await storeAt(join(work, "store"));
  const result = await importArchive(repos, archive);
  assert.equal(result.format, "oci-archive");
  assert.deepEqual(result.images, [{ repo: "docker.io/library/demo", reference: "1.0", digest: image.manifestDigest }]);
  const out = join(work, "out.oci.tar");
  await exportOciArchive(repos, [{ repo: "docker.io/library/demo", reference: "1.0" }], out);
  const inspected = JSON.parse(await skopeo(["inspect", `oci-archive:${out}:1.0`]));
  assert.equal(inspected.Digest, image.manifestDigest);
  await skopeoCopy(`oci-archive:${out}:1.0`, `oci:${join(work, "copied")}:1.0`, ["--preserve-digests"]);
  for (const layer of image.layerDigests) {
    const copied = await readFile(join(work, "copied", "blobs", "sha256", layer.slice(7)));
    assert.equal(sha(copied), layer);
  }
});

test("docker-archive imports (layers and config keep their digests) and exports for skopeo", async (t) => {
  if (!(await hasSkopeo())) return t.skip("skopeo is not installed");
  const work = await tempDir(t, "docker-archive");
  const image = await writeOciLayout(join(work, "layout"), { layers: 2 });
  const archive = join(work, "image.tar");
  await skopeoCopy(`oci:${image.dir}:v1`, `docker-archive:${archive}:apps/docker:v1`);
  const repos = await storeAt(join(work, "store"));
  const result = await importArchive(repos, archive);
  assert.equal(result.format, "docker-archive");
  // skopeo (like docker save) writes fully qualified names into RepoTags.
  assert.equal(result.images[0]!.repo, "docker.io/apps/docker");
  assert.equal(result.images[0]!.reference, "v1");
  const manifest = JSON.parse(await readFile(repos.blobs.blobPath(result.images[0]!.digest), "utf8")) as {
    layers: { digest: string }[];
  };
  assert.deepEqual(
    manifest.layers.map((l) => l.digest),
    image.layerDigests,
  );
  const out = join(work, "out.tar");
  await exportDockerArchive(repos, [{ repo: "docker.io/apps/docker", reference: "v1" }], out);
  const inspected = JSON.parse(await skopeo(["inspect", `docker-archive:${out}`]));
  assert.deepEqual(inspected.Layers, image.layerDigests);
  const written = JSON.parse(execFileSync("tar", ["-xOf", out, "manifest.json"]).toString());
  assert.deepEqual(written[0].RepoTags, ["docker.io/apps/docker:v1"]);
});

test("an exported OCI layout is what skopeo reads as oci:DIR:tag", async (t) => {
  if (!(await hasSkopeo())) return t.skip("skopeo is not installed");
  const work = await tempDir(t, "export-layout");
  const image = await writeOciLayout(join(work, "layout"));
  const repos = await storeAt(join(work, "store"));
  await importOciLayout(repos, image.dir, { repository: "apps/out" });
  await exportOciLayout(repos, [{ repo: "apps/out", reference: "v1" }], join(work, "exported"));
  const inspected = JSON.parse(await skopeo(["inspect", `oci:${join(work, "exported")}:v1`]));
  assert.equal(inspected.Digest, image.manifestDigest);
  await assert.rejects(
    exportOciLayout(repos, [{ repo: "apps/out", reference: "nope" }], join(work, "x")),
    OperatorError,
  );
  assert.deepEqual((await readdir(work)).sort(), ["exported", "layout", "store"]);
});

test("a tampered blob in an archive is refused and nothing of it is stored", async (t) => {
  const work = await tempDir(t, "tampered");
  const image = await writeOciLayout(join(work, "layout"), { layers: 1 });
  const layer = join(image.dir, "blobs", "sha256", image.layerDigests[0]!.slice(7));
  const bytes = await readFile(layer);
  bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
  await writeFile(layer, bytes);
  const archive = join(work, "bad.tar");
  execFileSync("tar", ["-C", image.dir, "-cf", archive, "oci-layout", "index.json", "blobs"]);
  const repos = await storeAt(join(work, "store"));
  await assert.rejects(importArchive(repos, archive), /does not match its digest/);
  assert.equal(await repos.blobs.has(image.layerDigests[0] as `sha256:${string}`), false);
  assert.deepEqual(await repos.listRepositories(), []);
  await assert.rejects(importOciLayout(repos, image.dir, { repository: "x" }), /does not match its digest/);
});

test("airstrap registry import, list and export work from the command line", async (t) => {
  const work = await tempDir(t, "cli");
  const image = await writeOciLayout(join(work, "layout"));
  const main = new URL("./registry-cli.ts", import.meta.url).pathname;
  const cli = (...args: string[]) =>
    execFileSync(process.execPath, ["--import", "tsx", main, "registry", ...args], { encoding: "utf8" });
  const store = join(work, "store");
  assert.match(cli("import", "--root", store, "--repository", "apps/cli", image.dir), /apps\/cli:v1 sha256:/);
  assert.equal(cli("list", "--root", store), "apps/cli\tv1\n");
  cli("export", "--root", store, "--format", "oci-archive", "-o", join(work, "out.tar"), "apps/cli:v1");
  const repos = await storeAt(join(work, "again"));
  const { images } = await importArchive(repos, join(work, "out.tar"));
  assert.deepEqual(images, [{ repo: "apps/cli", reference: "v1", digest: image.manifestDigest }]);
});
