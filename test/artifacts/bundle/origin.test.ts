import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { createBundle } from "../../../src/artifacts/bundle/create.js";
import { SIGNATURE_ENTRY } from "../../../src/artifacts/bundle/format.js";
import { formatPublicKey, keyFingerprint, loadOrCreateSigningKey } from "../../../src/artifacts/bundle/signing.js";
import { silentEvents } from "../../../src/events.js";
import { runAirstrap } from "../../helpers/cli.js";
import { addFile, newStore, random, recordContent, snapshot, tempDir } from "./fixtures.js";

/** A small bundle signed by the key of `dir/signer`; the air-gapped side is `dir/site`, empty. */
async function signedBundle(t: TestContext) {
  const dir = await tempDir(t, "origin");
  const source = await newStore(t, "origin-source");
  const content = { files: [await addFile(source, "k3s", random(64 * 1024))], images: [] };
  await recordContent(source, content);
  const signer = await loadOrCreateSigningKey(join(dir, "signer"));
  const bundle = join(dir, "edge.bundle");
  await createBundle({
    store: source,
    output: bundle,
    content,
    manifest: { file: "cluster.yaml", text: "x", cluster: "edge" },
    signingKey: signer,
    events: silentEvents,
  });
  const site = join(dir, "site");
  const { mkdir } = await import("node:fs/promises");
  await mkdir(site);
  return { dir, bundle, site, signer, store: join(site, "store") };
}

const manifest = (signer?: string) =>
  [
    "apiVersion: airstrap.io/v1alpha1",
    "kind: Cluster",
    "metadata: { name: edge }",
    "spec:",
    "  domain: edge.lan",
    "  distro: { name: k3s, version: v1.31.4+k3s1 }",
    "  hosts:",
    "    - { name: k3s-01, address: 10.77.0.11, role: server }",
    ...(signer === undefined ? [] : [`  artifacts: { signer: "${signer}" }`]),
    "",
  ].join("\n");

async function storeIsEmpty(store: string): Promise<void> {
  assert.deepEqual(await snapshot(store).catch(() => ({})), {}, "nothing was written to the store");
}

test("bundle load with no trusted key known refuses, naming the signer, and writes nothing", async (t) => {
  const { bundle, site, signer, store } = await signedBundle(t);
  const run = await runAirstrap(["bundle", "load", bundle, "--store", store], { cwd: site });
  assert.equal(run.code, 1, run.stdout);
  assert.match(run.stderr, /error: .*edge\.bundle: signed by key SHA256:\S+, but no trusted signer is known here/);
  assert.ok(run.stderr.includes(keyFingerprint(signer.publicKey)));
  assert.match(run.stderr, /hint: .*signer: SHA256:/);
  assert.doesNotMatch(run.stderr, /\n\s+at /);
  await storeIsEmpty(store);
  const verify = await runAirstrap(["bundle", "verify", bundle], { cwd: site });
  assert.equal(verify.code, 1, verify.stdout);
  assert.match(verify.stderr, /no trusted signer is known here/);
});

test("bundle load of a bundle signed by another key refuses, naming both fingerprints", async (t) => {
  const { dir, bundle, site, signer, store } = await signedBundle(t);
  const trusted = await loadOrCreateSigningKey(join(dir, "trusted"));
  const run = await runAirstrap(
    ["bundle", "load", bundle, "--store", store, "--key", formatPublicKey(trusted.publicKey)],
    { cwd: site },
  );
  assert.equal(run.code, 1, run.stdout);
  assert.ok(
    run.stderr.includes(
      `signed by key ${keyFingerprint(signer.publicKey)}, not by the trusted key ${keyFingerprint(trusted.publicKey)} (--key)`,
    ),
    run.stderr,
  );
  await storeIsEmpty(store);

  // The same refusal when the trusted key is pinned in the manifest.
  await writeFile(join(site, "cluster.yaml"), manifest(keyFingerprint(trusted.publicKey)));
  const pinned = await runAirstrap(["bundle", "load", bundle, "--store", store], { cwd: site });
  assert.equal(pinned.code, 1, pinned.stdout);
  assert.match(pinned.stderr, /not by the trusted key SHA256:\S+ \(spec\.artifacts\.signer in cluster\.yaml\)/);
  await storeIsEmpty(store);
});

test("bundle load of a bundle whose signature is blanked out refuses and writes nothing", async (t) => {
  const { bundle, site, signer, store } = await signedBundle(t);
  const bytes = await readFile(bundle);
  const signatureAt = bytes.indexOf(Buffer.from(SIGNATURE_ENTRY)) + 512;
  bytes.fill(0, signatureAt + 64, signatureAt + 128);
  await writeFile(bundle, bytes);
  const run = await runAirstrap(
    ["bundle", "load", bundle, "--store", store, "--key", formatPublicKey(signer.publicKey)],
    { cwd: site },
  );
  assert.equal(run.code, 1, run.stdout);
  assert.match(run.stderr, /the signature does not verify/);
  await storeIsEmpty(store);
});

test("bundle load trusts --key, the manifest's pinned signer, or this state dir's own key", async (t) => {
  const { dir, bundle, site, signer, store } = await signedBundle(t);
  const byKey = await runAirstrap(
    ["bundle", "load", bundle, "--store", store, "--key", formatPublicKey(signer.publicKey)],
    { cwd: site },
  );
  assert.equal(byKey.code, 0, byKey.stderr);
  assert.match(byKey.stdout, /signature: good, by the trusted key SHA256:\S+ \(--key\)/);
  assert.match(byKey.stdout, /: [1-9]\d* blobs written/);
  assert.notDeepEqual(await snapshot(store), {});
  const byFingerprint = await runAirstrap(["bundle", "verify", bundle, "--key", keyFingerprint(signer.publicKey)], {
    cwd: site,
  });
  assert.equal(byFingerprint.code, 0, byFingerprint.stderr);

  await writeFile(join(site, "cluster.yaml"), manifest(keyFingerprint(signer.publicKey)));
  const byManifest = await runAirstrap(["bundle", "verify", bundle], { cwd: site });
  assert.equal(byManifest.code, 0, byManifest.stderr);
  assert.match(byManifest.stdout, /\(spec\.artifacts\.signer in cluster\.yaml\)/);

  // The machine that made the bundle: its state dir (dir/signer beside dir/signer-side.yaml) holds the key.
  const { rename } = await import("node:fs/promises");
  await rename(join(dir, "signer"), join(dir, ".airstrap"));
  await writeFile(join(dir, "cluster.yaml"), manifest());
  const own = await runAirstrap(["bundle", "verify", bundle], { cwd: dir });
  assert.equal(own.code, 0, own.stderr);
  assert.match(own.stdout, /bundle-signing\.pub, the key this state dir signs with\)/);
});

test("--insecure-skip-signature loads whoever signed, and says so loudly", async (t) => {
  const { bundle, site, store } = await signedBundle(t);
  const run = await runAirstrap(["bundle", "load", bundle, "--store", store, "--insecure-skip-signature"], {
    cwd: site,
  });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /WARNING: --insecure-skip-signature: whoever signed this bundle is not checked/);
  assert.match(run.stderr, /WARNING: it is signed by key SHA256:/);
  const both = await runAirstrap(["bundle", "load", bundle, "--key", "x", "--insecure-skip-signature"], { cwd: site });
  assert.equal(both.code, 2, both.stderr);
});

test("bundle create refuses when the manifest pins another signer than its state dir's key", async (t) => {
  const { dir, site } = await signedBundle(t);
  const other = await loadOrCreateSigningKey(join(dir, "other"));
  await writeFile(join(site, "cluster.yaml"), manifest(keyFingerprint(other.publicKey)));
  const run = await runAirstrap(["bundle", "create", "-o", "out.bundle"], { cwd: site });
  assert.equal(run.code, 1, run.stdout);
  assert.match(run.stderr, /spec\.artifacts\.signer is SHA256:\S+, but .*\.airstrap signs with SHA256:/);
});
