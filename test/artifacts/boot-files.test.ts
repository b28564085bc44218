import assert from "node:assert/strict";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { findFile, findRelease, readArtifactIndex } from "../../src/artifacts/artifact-index.js";
import {
  DEBIAN_IPXE_DIR,
  FLATCAR_PXE_INITRD,
  FLATCAR_PXE_KERNEL,
  FLATCAR_SIGNING_KEY,
  flatcarCatalog,
  ipxeCatalog,
} from "../../src/artifacts/boot-catalog.js";
import { releaseCatalog } from "../../src/artifacts/catalog.js";
import { checkArtifacts } from "../../src/artifacts/check.js";
import { pullBootFiles } from "../../src/artifacts/pull-boot-files.js";
import { OperatorError } from "../../src/errors.js";
import { silentEvents } from "../../src/events.js";
import { openBlobStore } from "../../src/store/blob-store.js";
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
