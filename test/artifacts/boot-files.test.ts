import assert from "node:assert/strict";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { findFile, findRelease, readArtifactIndex } from "../../src/artifacts/artifact-index.js";
import {
  customOsCatalog,
  DEBIAN_IPXE_DIR,
  FLATCAR_PXE_INITRD,
  FLATCAR_PXE_KERNEL,
  FLATCAR_SIGNING_KEY,
  flatcarCatalog,
  ipxeCatalog,
} from "../../src/artifacts/boot-catalog.js";
import { releaseCatalog } from "../../src/artifacts/catalog.js";
import { checkArtifacts } from "../../src/artifacts/check.js";
import { artifactsFromPlan } from "../../src/artifacts/plan-artifacts.js";
import { pullBootFiles } from "../../src/artifacts/pull-boot-files.js";
import { OperatorError } from "../../src/errors.js";
import { silentEvents } from "../../src/events.js";
import { validateManifestText } from "../../src/manifest/validate.js";
import { planCluster } from "../../src/plan/plan.js";
import { openBlobStore } from "../../src/store/blob-store.js";
import { example } from "../helpers/cli.js";
import { createGpgSigner, type GpgSigner } from "../peers/gpg.js";
import { random, tempDir } from "./bundle/fixtures.js";

const VERSION = "4081.2.0";
const fastRetry = { attempts: 2, baseDelayMs: 5, maxDelayMs: 10 };

/** A folder laid out as a Flatcar mirror: the PXE files, their .sig from the real gpg, the key. */
async function flatcarFolder(t: TestContext, signer: GpgSigner) {
  const dir = await tempDir(t, "flatcar");
  const kernel = random(600_000);
  const initrd = random(2_500_000);
  await writeFile(join(dir, FLATCAR_PXE_KERNEL), kernel);
  await writeFile(join(dir, FLATCAR_PXE_INITRD), initrd);
  signer.sign(join(dir, FLATCAR_PXE_KERNEL));
  signer.sign(join(dir, FLATCAR_PXE_INITRD));
  await writeFile(join(dir, FLATCAR_SIGNING_KEY.name), signer.armoredPublicKey);
  return { dir, kernel, initrd };
}

async function setup(t: TestContext) {
  const signer = createGpgSigner(t);
  const folder = await flatcarFolder(t, signer);
  const store = await openBlobStore(join(await tempDir(t, "boot-store"), "store"));
  const catalog = flatcarCatalog({
    channel: "stable",
    version: VERSION,
    arch: "amd64",
    source: folder.dir,
    fingerprint: signer.fingerprint,
  });
  const pull = () => pullBootFiles({ store, catalog, events: silentEvents, retry: fastRetry });
  return { signer, folder, store, catalog, pull };
}

test("Flatcar's PXE kernel and initramfs are pulled only with a good signature by the pinned key's subkey", async (t) => {
  const { store, pull, folder } = await setup(t);
  const first = await pull();
  assert.deepEqual(
    first.map((f) => f.name).sort(),
    [
      FLATCAR_SIGNING_KEY.name,
      FLATCAR_PXE_INITRD,
      `${FLATCAR_PXE_INITRD}.sig`,
      FLATCAR_PXE_KERNEL,
      `${FLATCAR_PXE_KERNEL}.sig`,
    ].sort(),
  );
  const index = await readArtifactIndex(store.root);
  const kernel = findFile(index, { distro: "flatcar", version: VERSION, arch: "amd64", name: FLATCAR_PXE_KERNEL });
  assert.equal(kernel?.verification, "signature");
  assert.deepEqual(await readFile(store.blobPath(kernel!.digest)), folder.kernel);
  assert.ok(findRelease(index, { distro: "flatcar", version: VERSION, arch: "amd64" }), "published as an artifact");

  const again = await pull();
  assert.ok(
    again.every((f) => f.outcome === "present"),
    "a second pull fetches nothing",
  );
});

test("a file changed after signing is refused and neither it nor its signature is recorded", async (t) => {
  const { store, pull, folder } = await setup(t);
  const tampered = Buffer.from(folder.initrd);
  tampered[1234] = (tampered[1234] ?? 0) ^ 0x01;
  await writeFile(join(folder.dir, FLATCAR_PXE_INITRD), tampered);
  await assert.rejects(pull(), (error: unknown) => {
    assert.ok(error instanceof OperatorError);
    assert.match(error.message, new RegExp(`${FLATCAR_PXE_INITRD}: signature check failed`));
    return true;
  });
  const index = await readArtifactIndex(store.root);
  const key = (name: string) => ({ distro: "flatcar", version: VERSION, arch: "amd64", name });
  assert.equal(findFile(index, key(FLATCAR_PXE_INITRD)), undefined);
  assert.equal(findFile(index, key(`${FLATCAR_PXE_INITRD}.sig`)), undefined);
  assert.ok(findFile(index, key(FLATCAR_PXE_KERNEL)), "the intact kernel is kept");
  assert.equal(findRelease(index, key("")), undefined, "no artifact is published for a partial release");

  // The mirror is fixed: the next pull completes, the signature was never pinned from the bad round.
  await writeFile(join(folder.dir, FLATCAR_PXE_INITRD), folder.initrd);
  await pull();
  assert.ok(findFile(await readArtifactIndex(store.root), key(FLATCAR_PXE_INITRD)));
});

test("files signed by another key are refused, even with the pinned key beside them", async (t) => {
  const { signer, folder, pull } = await setup(t);
  const other = createGpgSigner(t, "Someone Else");
  other.sign(join(folder.dir, FLATCAR_PXE_KERNEL));
  await assert.rejects(pull(), /flatcar_production_pxe\.vmlinuz: signature check failed/);
  assert.notEqual(other.fingerprint, signer.fingerprint);
});

test("a key file that is not the pinned key is refused, naming both fingerprints", async (t) => {
  const { folder, store } = await setup(t);
  const other = createGpgSigner(t, "Someone Else");
  await writeFile(join(folder.dir, FLATCAR_SIGNING_KEY.name), other.armoredPublicKey);
  const catalog = flatcarCatalog({ channel: "stable", version: VERSION, arch: "amd64", source: folder.dir });
  await assert.rejects(pullBootFiles({ store, catalog, events: silentEvents, retry: fastRetry }), (error: unknown) => {
    assert.ok(error instanceof OperatorError);
    assert.ok(error.message.includes(other.fingerprint), error.message);
    assert.ok(error.message.includes(FLATCAR_SIGNING_KEY.fingerprint), error.message);
    return true;
  });
  const index = await readArtifactIndex(store.root);
  assert.equal(index.files.filter((f) => f.name !== FLATCAR_SIGNING_KEY.name).length, 0, "nothing else was fetched");
});

test("from an http mirror laid out as <channel>.release.flatcar-linux.net/<arch>-usr", async (t) => {
  const signer = createGpgSigner(t);
  const folder = await flatcarFolder(t, signer);
  const requests: string[] = [];
  const server = createServer(async (req, res) => {
    requests.push(req.url ?? "");
    const name = (req.url ?? "").replace(new RegExp(`^/amd64-usr/(${VERSION}/)?`), "");
    try {
      res.end(await readFile(join(folder.dir, decodeURIComponent(name))));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/amd64-usr`;
  const store = await openBlobStore(join(await tempDir(t, "boot-store"), "store"));
  const catalog = flatcarCatalog({
    channel: "stable",
    version: VERSION,
    arch: "amd64",
    source: base,
    fingerprint: signer.fingerprint,
  });
  await pullBootFiles({ store, catalog, events: silentEvents, retry: fastRetry });
  assert.deepEqual(
    requests.sort(),
    [
      "/amd64-usr/Flatcar_Image_Signing_Key.asc",
      `/amd64-usr/${VERSION}/${FLATCAR_PXE_INITRD}`,
      `/amd64-usr/${VERSION}/${FLATCAR_PXE_INITRD}.sig`,
      `/amd64-usr/${VERSION}/${FLATCAR_PXE_KERNEL}`,
      `/amd64-usr/${VERSION}/${FLATCAR_PXE_KERNEL}.sig`,
    ].sort(),
  );
});

test("without a mirror the files come from Flatcar's release site and the key from flatcar.org (no request made)", () => {
  const catalog = flatcarCatalog({ channel: "beta", version: VERSION, arch: "arm64" });
  assert.deepEqual(
    catalog.files.map((f) => f.location),
    [
      `https://beta.release.flatcar-linux.net/arm64-usr/${VERSION}/${FLATCAR_PXE_KERNEL}`,
      `https://beta.release.flatcar-linux.net/arm64-usr/${VERSION}/${FLATCAR_PXE_INITRD}`,
    ],
  );
  assert.equal(catalog.signingKey?.file.location, FLATCAR_SIGNING_KEY.url);
  assert.throws(
    () => flatcarCatalog({ channel: "stable", version: "current", arch: "amd64" }),
    /not a release version/,
  );
});

test("Debian's iPXE binaries are pinned on the first pull; other bytes under the same name are refused later", async (t) => {
  const dir = await tempDir(t, "ipxe");
  for (const name of ["undionly.kpxe", "ipxe.efi"]) await copyFile(join(DEBIAN_IPXE_DIR, name), join(dir, name));
  const store = await openBlobStore(join(await tempDir(t, "boot-store"), "store"));
  const pull = () =>
    pullBootFiles({ store, catalog: ipxeCatalog({ arch: "amd64", source: dir }), events: silentEvents });
  const first = await pull();
  assert.deepEqual(first.map((f) => f.outcome).sort(), ["copied", "copied"]);
  const index = await readArtifactIndex(store.root);
  const kpxe = findFile(index, { distro: "ipxe", version: "1", arch: "amd64", name: "undionly.kpxe" });
  assert.deepEqual(
    await readFile(store.blobPath(kpxe!.digest)),
    await readFile(join(DEBIAN_IPXE_DIR, "undionly.kpxe")),
  );

  await writeFile(join(dir, "undionly.kpxe"), random(1000));
  await store.remove(kpxe!.digest);
  await assert.rejects(pull(), /undionly\.kpxe: content does not match the digest pinned on the first pull/);
  assert.throws(() => ipxeCatalog({ arch: "arm64" }), /no iPXE binaries for arm64/);
});

test("artifacts check re-hashes the boot files and names a corrupt one", async (t) => {
  const { store, pull, catalog } = await setup(t);
  await pull();
  const needed = {
    catalog: releaseCatalog({ distro: "k3s", version: "v1.31.4+k3s1", arch: "amd64" }),
    images: [],
    arch: "amd64",
    boot: [catalog],
  };
  const bootProblems = async () =>
    (await checkArtifacts(store, needed)).problems.filter((p) => p.what.startsWith("flatcar"));
  assert.deepEqual(await bootProblems(), []);
  const initrd = findFile(await readArtifactIndex(store.root), {
    ...catalog.set,
    name: FLATCAR_PXE_INITRD,
  })!;
  await writeFile(store.blobPath(initrd.digest), random(100));
  assert.deepEqual(
    (await bootProblems()).map((p) => [p.what, p.problem]),
    [[FLATCAR_PXE_INITRD, "corrupt"]],
  );
});

test("a PXE site needs its OS and the iPXE binaries: Flatcar from a mirror with its own signer, or files of one's own", async () => {
  const planOf = async (edit: (text: string) => string) => {
    const text = edit(await readFile(example("pxe-rke2.yaml"), "utf8"));
    const result = validateManifestText(text, "pxe-rke2.yaml", {});
    assert.ok(result.manifest, JSON.stringify(result.diagnostics));
    return planCluster(result.manifest);
  };
  const flatcar = artifactsFromPlan(
    await planOf((t) =>
      t.replace(
        "version: 3975.2.2",
        "version: 3975.2.2\n        source: http://10.77.0.9/flatcar/amd64-usr\n        signer: 180684FE297B5691F1BFC92C73F399E085DAA304",
      ),
    ),
    "/site",
  ).boot;
  assert.deepEqual(
    flatcar.map((c) => c.set.distro),
    ["flatcar", "ipxe"],
  );
  assert.equal(flatcar[0]!.files[0]!.location, `http://10.77.0.9/flatcar/amd64-usr/3975.2.2/${FLATCAR_PXE_KERNEL}`);
  assert.equal(flatcar[0]!.signingKey?.fingerprint, "180684FE297B5691F1BFC92C73F399E085DAA304");

  const custom = artifactsFromPlan(
    await planOf((t) =>
      t.replace(
        /os:\n {8}name: flatcar\n {8}channel: stable\n {8}version: 3975.2.2/,
        "os: { kernel: debian/vmlinuz, initrd: [debian/initrd.img], rootImage: debian/live.squashfs, source: ./os }",
      ),
    ),
    "/site",
  ).boot;
  assert.deepEqual(
    custom[0]!.files.map((f) => [f.name, f.role, f.location, f.verification]),
    [
      ["debian/vmlinuz", "kernel", "/site/os/debian/vmlinuz", "pinned"],
      ["debian/initrd.img", "initrd", "/site/os/debian/initrd.img", "pinned"],
      ["debian/live.squashfs", "root-image", "/site/os/debian/live.squashfs", "pinned"],
    ],
  );
});

test("an OS file of one's own that is not in the store and has no source is named, not guessed", async (t) => {
  const store = await openBlobStore(join(await tempDir(t, "boot-store"), "store"));
  const catalog = customOsCatalog({ arch: "amd64", kernel: "debian/vmlinuz", initrd: ["debian/initrd.img"] });
  await assert.rejects(
    pullBootFiles({ store, catalog, events: silentEvents }),
    /debian\/vmlinuz: not in the store, and nothing says where to fetch it from/,
  );
});
