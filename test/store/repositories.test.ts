import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { test } from "node:test";
import { OperatorError } from "../../src/errors.js";
import { openBlobStore } from "../../src/store/blob-store.js";
import { type Digest, digestOf } from "../../src/store/digest.js";
import { MediaTypes } from "../../src/store/oci-manifest.js";
import { openRepositories } from "../../src/store/repositories.js";

const sha = (data: string | Uint8Array): Digest => `sha256:${createHash("sha256").update(data).digest("hex")}`;

async function tempRepos(t: { after(fn: () => Promise<void>): void }) {
  const root = await mkdtemp(join(tmpdir(), "airstrap-repos-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  return openRepositories(await openBlobStore(root));
}

async function image(repos: Awaited<ReturnType<typeof tempRepos>>, layer: string, extra: object = {}) {
  const config = await repos.blobs.write(Readable.from([Buffer.from("{}")]));
  const content = await repos.blobs.write(Readable.from([Buffer.from(layer)]));
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { mediaType: MediaTypes.ociConfig, digest: config.digest, size: config.size },
    layers: [{ mediaType: MediaTypes.ociLayer, digest: content.digest, size: content.size }],
    ...extra,
  };
  // Unusual spacing on purpose: the stored bytes must be these, not a re-serialisation.
  return { bytes: Buffer.from(JSON.stringify(manifest, null, 3)), config, content };
}

test("a manifest put under a tag is stored byte-exact, resolvable and links its blobs", async (t) => {
  const repos = await tempRepos(t);
  const { bytes, config, content } = await image(repos, "layer one");
  const record = await repos.putManifest("library/app", "v1", bytes, MediaTypes.ociManifest);
  assert.equal(record.digest, sha(bytes));
  assert.equal(await repos.resolveTag("library/app", "v1"), sha(bytes));
  assert.deepEqual(await readFile(repos.blobs.blobPath(record.digest)), bytes);
  assert.deepEqual(await repos.getManifest("library/app", "v1"), record);
  assert.deepEqual(await repos.getManifest("library/app", record.digest), record);
  assert.equal(await repos.isBlobLinked("library/app", config.digest), true);
  assert.equal(await repos.isBlobLinked("library/app", content.digest), true);
  assert.equal(await repos.isBlobLinked("other", content.digest), false);
  assert.deepEqual(await repos.listRepositories(), ["library/app"]);
});

test("tags list in code point order and a retag moves the tag atomically", async (t) => {
  const repos = await tempRepos(t);
  const first = await image(repos, "a");
  const second = await image(repos, "b");
  for (const tag of ["b", "B", "a", "10", "1"])
    await repos.putManifest("app", tag, first.bytes, MediaTypes.ociManifest);
  assert.deepEqual(await repos.listTags("app"), ["1", "10", "B", "a", "b"]);
  await repos.putManifest("app", "a", second.bytes, MediaTypes.ociManifest);
  assert.equal(await repos.resolveTag("app", "a"), sha(second.bytes));
  const leftovers = (await readdir(join(repos.blobs.root, "repositories", "app", "_tags"))).filter((n) =>
    n.includes("."),
  );
  assert.deepEqual(leftovers, []);
  assert.equal(await repos.listTags("missing"), undefined);
});

test("putting by digest checks the digest and creates no tag", async (t) => {
  const repos = await tempRepos(t);
  const { bytes } = await image(repos, "x");
  await repos.putManifest("app", sha(bytes), bytes, MediaTypes.ociManifest);
  assert.deepEqual(await repos.listTags("app"), []);
  await assert.rejects(repos.putManifest("app", sha("other"), bytes, MediaTypes.ociManifest), OperatorError);
});

test("referrers are indexed by subject and vanish with the manifest", async (t) => {
  const repos = await tempRepos(t);
  const subject = await image(repos, "subject");
  const subjectRecord = await repos.putManifest("app", "v1", subject.bytes, MediaTypes.ociManifest);
  const signature = await image(repos, "sig", {
    artifactType: "application/vnd.example.signature",
    subject: { mediaType: MediaTypes.ociManifest, digest: subjectRecord.digest, size: subjectRecord.size },
    annotations: { "org.example.kind": "signature" },
  });
  const sigRecord = await repos.putManifest("app", sha(signature.bytes), signature.bytes, MediaTypes.ociManifest);
  const found = await repos.referrers("app", subjectRecord.digest);
  assert.deepEqual(found, [
    {
      mediaType: MediaTypes.ociManifest,
      digest: sigRecord.digest,
      size: sigRecord.size,
      artifactType: "application/vnd.example.signature",
      annotations: { "org.example.kind": "signature" },
    },
  ]);
  assert.equal(await repos.deleteManifest("app", sigRecord.digest), true);
  assert.deepEqual(await repos.referrers("app", subjectRecord.digest), []);
});

test("deleting a manifest removes the tags that point at it", async (t) => {
  const repos = await tempRepos(t);
  const { bytes } = await image(repos, "x");
  const record = await repos.putManifest("app", "v1", bytes, MediaTypes.ociManifest);
  await repos.putManifest("app", "latest", bytes, MediaTypes.ociManifest);
  assert.equal(await repos.deleteManifest("app", record.digest), true);
  assert.deepEqual(await repos.listTags("app"), []);
  assert.equal(await repos.getManifest("app", record.digest), undefined);
  assert.equal(await repos.deleteManifest("app", record.digest), false);
});

test("invalid names, tags and manifests are operator errors", async (t) => {
  const repos = await tempRepos(t);
  const { bytes } = await image(repos, "x");
  await assert.rejects(repos.putManifest("Bad/Name", "v1", bytes, MediaTypes.ociManifest), OperatorError);
  await assert.rejects(repos.putManifest("app", "-bad", bytes, MediaTypes.ociManifest), OperatorError);
  await assert.rejects(
    repos.putManifest("app", "v1", Buffer.from("not json"), MediaTypes.ociManifest),
    /not valid JSON/,
  );
});

test("sha512 manifests: by digest, tagged as sha512, listed, referrers of a sha512 subject, deleted", async (t) => {
  const repos = await tempRepos(t);
  const subject = await image(repos, "subject");
  const subjectDigest = digestOf(subject.bytes, "sha512");
  const record = await repos.putManifest("app", subjectDigest, subject.bytes, MediaTypes.ociManifest);
  assert.equal(record.digest, subjectDigest);
  // Tagged with the digest it is known by, the tag names sha512 too; by default a tag push is sha256.
  await repos.putManifest("app", "long", subject.bytes, MediaTypes.ociManifest, { digest: subjectDigest });
  await repos.putManifest("app", "short", subject.bytes, MediaTypes.ociManifest);
  assert.equal(await repos.resolveTag("app", "long"), subjectDigest);
  assert.equal(await repos.resolveTag("app", "short"), sha(subject.bytes));
  await assert.rejects(
    repos.putManifest("app", "bad", subject.bytes, MediaTypes.ociManifest, { digest: digestOf("other", "sha512") }),
    OperatorError,
  );
  assert.deepEqual(
    (await repos.listManifests("app")).map((m) => m.digest).sort(),
    [sha(subject.bytes), subjectDigest].sort(),
  );
  assert.ok(
    (await readdir(join(repos.blobs.root, "repositories", "app", "_manifests"))).includes(
      `sha512-${subjectDigest.slice(7)}`,
    ),
  );
  const signature = await image(repos, "sig", {
    subject: { mediaType: MediaTypes.ociManifest, digest: subjectDigest, size: subject.bytes.length },
  });
  const sigDigest = digestOf(signature.bytes, "sha512");
  await repos.putManifest("app", sigDigest, signature.bytes, MediaTypes.ociManifest);
  assert.deepEqual(
    (await repos.referrers("app", subjectDigest)).map((d) => d.digest),
    [sigDigest],
  );
  assert.deepEqual(await repos.referrers("app", sha(subject.bytes)), []);
  assert.equal(await repos.deleteManifest("app", sigDigest), true);
  assert.deepEqual(await repos.referrers("app", subjectDigest), []);
  assert.equal(await repos.deleteManifest("app", subjectDigest), true);
  assert.deepEqual(await repos.listTags("app"), ["short"]);
});
