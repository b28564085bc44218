import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { readArtifactIndex } from "../../../src/artifacts/artifact-index.js";
import { createBundle } from "../../../src/artifacts/bundle/create.js";
import { BundleDamageError } from "../../../src/artifacts/bundle/damage.js";
import { loadBundle } from "../../../src/artifacts/bundle/load.js";
import { loadOrCreateSigningKey } from "../../../src/artifacts/bundle/signing.js";
import { readBaseIndex } from "../../../src/artifacts/bundle/since.js";
import { trustKey, UntrustedSignerError } from "../../../src/artifacts/bundle/trust.js";
import { verifyBundle } from "../../../src/artifacts/bundle/verify.js";
import { OperatorError } from "../../../src/errors.js";
import { silentEvents } from "../../../src/events.js";
import { openBlobStore } from "../../../src/store/blob-store.js";
import { openRepositories } from "../../../src/store/repositories.js";
import { addFile, addImage, newStore, random, recordContent, snapshot, tempDir } from "./fixtures.js";

const run = promisify(execFile);
const manifest = { file: "cluster.yaml", text: "kind: Cluster\n", cluster: "edge" };

async function filledStore(t: import("node:test").TestContext) {
  const store = await newStore(t, "source");
  const files = [
    await addFile(store, "k3s", random(300_000)),
    await addFile(store, "sha256sum-amd64.txt", random(700)),
  ];
  const images = [await addImage(store, "library/app", "1.0", random(150_000))];
  const content = { files, images };
  await recordContent(store, content);
  return { store, content };
}

test("a bundle round-trips: verify passes, load reproduces the store's content, names and tags", async (t) => {
  const { store, content } = await filledStore(t);
  const dir = await tempDir(t, "bundle");
  const key = await loadOrCreateSigningKey(join(dir, "state"));
  const output = join(dir, "edge.bundle");
  const created = await createBundle({ store, output, content, manifest, signingKey: key, events: silentEvents });
  assert.equal(created.parts.length, 1);
  assert.equal(created.entries, 5);
  assert.match(created.publicKey, /^ed25519:/);

  const verified = await verifyBundle([output], trustKey(key.publicKey), silentEvents);
  assert.equal(verified.head.index.entries.length, 5);
  assert.equal(verified.head.indexDigest, created.indexDigest);

  const target = await newStore(t, "target");
  const loaded = await loadBundle([output], target, trustKey(key.publicKey), silentEvents);
  assert.equal(loaded.loaded, 5);
  assert.deepEqual(await snapshot(target.root), await snapshot(store.root));
  assert.deepEqual(await readArtifactIndex(target.root), await readArtifactIndex(store.root));
  assert.equal(await openRepositories(target).resolveTag("library/app", "1.0"), content.images[0]!.digest);

  const again = await loadBundle([output], target, trustKey(key.publicKey), silentEvents);
  assert.equal(again.loaded, 0);
  assert.equal(again.alreadyPresent, 5);
});

test("a bundle written into a folder that does not exist is an operator error, and nothing is left behind", async (t) => {
  const { store, content } = await filledStore(t);
  const dir = await tempDir(t, "bundle-nofolder");
  const key = await loadOrCreateSigningKey(join(dir, "state"));
  const output = join(dir, "not-mounted", "edge.bundle");
  await assert.rejects(
    createBundle({ store, output, content, manifest, signingKey: key, events: silentEvents }),
    (error: unknown) => {
      assert.ok(error instanceof OperatorError);
      assert.match(error.message, /cannot write the bundle .*not-mounted\/edge\.bundle.*ENOENT/);
      assert.match(error.hint ?? "", /USB disk mounted/);
      return true;
    },
  );
  assert.deepEqual(await readdir(dir), ["state"]);
});

test("GNU tar reads a bundle: the listing is the index, then its signature, then the blobs", async (t) => {
  const { store, content } = await filledStore(t);
  const dir = await tempDir(t, "bundle-tar");
  const key = await loadOrCreateSigningKey(join(dir, "state"));
  const output = join(dir, "edge.bundle");
  await createBundle({ store, output, content, manifest, signingKey: key, events: silentEvents });
  const { stdout } = await run("tar", ["-tf", output]);
  const names = stdout.trim().split("\n");
  assert.equal(names[0], "airstrap-index.json");
  assert.equal(names[1], "airstrap-index.sig");
  assert.equal(names.length, 7);
  const out = join(dir, "extracted");
  await run("mkdir", [out]);
  await run("tar", ["-xf", output, "-C", out]);
  const file = content.files[0]!;
  assert.deepEqual(
    await readFile(join(out, "blobs/sha256", file.digest.slice(7))),
    await readFile(store.blobPath(file.digest)),
  );
});

test("a split bundle is verified and loaded from its parts, given as FILE.part000 or as a list", async (t) => {
  const { store, content } = await filledStore(t);
  const dir = await tempDir(t, "bundle-split");
  const key = await loadOrCreateSigningKey(join(dir, "state"));
  const output = join(dir, "edge.bundle");
  const created = await createBundle({
    store,
    output,
    content,
    manifest,
    signingKey: key,
    events: silentEvents,
    partSize: 65_536,
  });
  assert.ok(created.parts.length >= 7, `${created.parts.length} parts`);
  assert.ok(created.parts.slice(0, -1).every((p) => p.size === 65_536));
  assert.equal(created.parts[0]!.path, `${output}.part000`);
  await verifyBundle([`${output}.part000`], trustKey(key.publicKey), silentEvents);
  await verifyBundle(created.parts.map((p) => p.path).reverse(), trustKey(key.publicKey), silentEvents);
  const { rename } = await import("node:fs/promises");
  await rename(created.parts[3]!.path, `${created.parts[3]!.path}.away`);
  await assert.rejects(verifyBundle([output], trustKey(key.publicKey), silentEvents), (error: unknown) => {
    assert.ok(error instanceof BundleDamageError);
    assert.equal(error.kind, "missing-part");
    assert.match(error.message, new RegExp(`edge\\.bundle\\.part003: part 3 of ${created.parts.length} is missing`));
    return true;
  });
  await rename(`${created.parts[3]!.path}.away`, created.parts[3]!.path);
  const joined = join(dir, "joined.bundle");
  await writeFile(joined, Buffer.concat(await Promise.all(created.parts.map((p) => readFile(p.path)))));
  await verifyBundle([joined], trustKey(key.publicKey), silentEvents);

  const target = await newStore(t, "split-target");
  await loadBundle([output], target, trustKey(key.publicKey), silentEvents);
  assert.deepEqual(await snapshot(target.root), await snapshot(store.root));

  // Re-created under the same name as one file, then split again: nothing stale is left to confuse a reader.
  await createBundle({ store, output, content, manifest, signingKey: key, events: silentEvents });
  assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith("edge.bundle")).sort(), [
    "edge.bundle",
    "edge.bundle.index.json",
  ]);
  await createBundle({ store, output, content, manifest, signingKey: key, events: silentEvents, partSize: 262_144 });
  const names = (await readdir(dir)).filter((n) => n.startsWith("edge.bundle.part"));
  assert.equal(names.length, 2);
  await verifyBundle([output], trustKey(key.publicKey), silentEvents);
});

test("a bundle signed with another key is refused when the trusted key is given", async (t) => {
  const { store, content } = await filledStore(t);
  const dir = await tempDir(t, "bundle-key");
  const signer = await loadOrCreateSigningKey(join(dir, "signer"));
  const other = await loadOrCreateSigningKey(join(dir, "other"));
  const output = join(dir, "edge.bundle");
  await createBundle({ store, output, content, manifest, signingKey: signer, events: silentEvents });
  await assert.rejects(verifyBundle([output], trustKey(other.publicKey), silentEvents), (error: unknown) => {
    assert.ok(error instanceof UntrustedSignerError);
    assert.match(error.message, /signed by key SHA256:.+ not by the trusted key/);
    return true;
  });
  const target = await newStore(t, "key-target");
  await assert.rejects(loadBundle([output], target, trustKey(other.publicKey), silentEvents), UntrustedSignerError);
  assert.deepEqual(await snapshot(target.root), {});
});

test("a differential bundle plus its base loads to the same store as one full bundle", async (t) => {
  const source = await newStore(t, "diff-source");
  const dir = await tempDir(t, "bundle-diff");
  const key = await loadOrCreateSigningKey(join(dir, "state"));
  const first = {
    files: [await addFile(source, "k3s", random(100_000))],
    images: [await addImage(source, "library/app", "1.0", random(80_000))],
  };
  await recordContent(source, first);
  const base = join(dir, "base.bundle");
  const baseCreated = await createBundle({
    store: source,
    output: base,
    content: first,
    manifest,
    signingKey: key,
    events: silentEvents,
  });

  const second = {
    files: [...first.files, await addFile(source, "k3s-airgap-images-amd64.tar.zst", random(200_000))],
    images: [...first.images, await addImage(source, "library/other", "2.0", random(90_000))],
  };
  await recordContent(source, second);
  const fromJson = await readBaseIndex(`${base}.index.json`);
  const fromBundle = await readBaseIndex(base);
  assert.equal(fromJson.digest, baseCreated.indexDigest);
  assert.equal(fromBundle.digest, baseCreated.indexDigest);
  const baseIndex = fromBundle.index;
  const diff = join(dir, "diff.bundle");
  const diffCreated = await createBundle({
    store: source,
    output: diff,
    content: second,
    manifest,
    signingKey: key,
    events: silentEvents,
    since: { index: baseIndex, digest: baseCreated.indexDigest },
  });
  assert.equal(diffCreated.skippedFromBase, baseCreated.entries);
  // The new file, the new layer and the new manifest; both images share one config blob.
  assert.equal(diffCreated.entries, 3);
  const full = join(dir, "full.bundle");
  await createBundle({ store: source, output: full, content: second, manifest, signingKey: key, events: silentEvents });

  const alone = await newStore(t, "diff-alone");
  await assert.rejects(loadBundle([diff], alone, trustKey(key.publicKey), silentEvents), (error: unknown) => {
    assert.match((error as Error).message, /needs 4 blobs it does not carry and the store lacks/);
    assert.match(
      (error as { hint: string }).hint,
      /differential on the bundle with index sha256:[a-f0-9]{64} .*load that one first/,
    );
    return true;
  });
  assert.deepEqual(await snapshot(alone.root), {});

  const incremental = await newStore(t, "diff-incremental");
  await loadBundle([base], incremental, trustKey(key.publicKey), silentEvents);
  await loadBundle([diff], incremental, trustKey(key.publicKey), silentEvents);
  const whole = await newStore(t, "diff-whole");
  await loadBundle([full], whole, trustKey(key.publicKey), silentEvents);
  assert.deepEqual(await snapshot(incremental.root), await snapshot(whole.root));
  assert.deepEqual(await snapshot(whole.root), await snapshot(source.root));
});

test("a tampered or truncated part is refused, named, and the store is left as it was", async (t) => {
  const { store, content } = await filledStore(t);
  const dir = await tempDir(t, "bundle-tamper");
  const key = await loadOrCreateSigningKey(join(dir, "state"));
  const output = join(dir, "edge.bundle");
  const created = await createBundle({
    store,
    output,
    content,
    manifest,
    signingKey: key,
    events: silentEvents,
    partSize: 131_072,
  });
  const target = await newStore(t, "tamper-target");
  const earlier = await addFile(target, "install.sh", random(5_000));
  await recordContent(target, { files: [earlier], images: [] });
  const before = await snapshot(target.root);

  const last = created.parts.at(-2)!.path;
  const bytes = await readFile(last);
  bytes[1000] = bytes[1000]! ^ 0x20;
  await writeFile(last, bytes);
  await assert.rejects(loadBundle([output], target, trustKey(key.publicKey), silentEvents), (error: unknown) => {
    assert.ok(error instanceof BundleDamageError);
    assert.equal(error.part, last);
    assert.match(error.message, new RegExp(`entry blobs/sha256/[a-f0-9]{64} in ${last.split("/").at(-1)}`));
    return true;
  });
  assert.deepEqual(await snapshot(target.root), before);
  bytes[1000] = bytes[1000]! ^ 0x20;

  await writeFile(last, bytes.subarray(0, 4000));
  await assert.rejects(loadBundle([output], target, trustKey(key.publicKey), silentEvents), (error: unknown) => {
    assert.ok(error instanceof BundleDamageError);
    assert.equal(error.kind, "truncated");
    assert.match(error.message, /truncated: 4000 bytes, expected 131072/);
    return true;
  });
  assert.deepEqual(await snapshot(target.root), before);

  await writeFile(last, bytes);
  await loadBundle([output], target, trustKey(key.publicKey), silentEvents);
  const store2 = await openBlobStore(target.root);
  for (const file of content.files) assert.ok(await store2.verify(file.digest));
});
