import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { test } from "node:test";
import { DigestMismatchError, openBlobStore } from "../../src/store/blob-store.js";
import {
  type Digest,
  digestFileName,
  digestFromBlobPath,
  digestFromFileName,
  digestOf,
  isDigest,
  parseDigest,
} from "../../src/store/digest.js";

const sha = (data: string): Digest => `sha256:${createHash("sha256").update(data).digest("hex")}`;

async function tempStore(t: { after(fn: () => Promise<void>): void }) {
  const root = await mkdtemp(join(tmpdir(), "airstrap-store-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  return openBlobStore(root);
}

test("a written blob is stored once under its digest and reads back", async (t) => {
  const store = await tempStore(t);
  const first = await store.write(Readable.from(["hello ", "world"]));
  const second = await store.write(Readable.from(["hello world"]), sha("hello world"));
  assert.equal(first.digest, sha("hello world"));
  assert.deepEqual(first, second);
  assert.equal(await readFile(store.blobPath(first.digest), "utf8"), "hello world");
  assert.deepEqual(await readdir(join(store.root, "blobs", "sha256")), [first.digest.slice(7)]);
  assert.deepEqual(await readdir(join(store.root, "tmp")), []);
  assert.equal(await store.verify(first.digest), true);
});

test("a mismatching digest stores nothing and leaves no temp file", async (t) => {
  const store = await tempStore(t);
  await assert.rejects(store.write(Readable.from(["tampered"]), sha("original")), DigestMismatchError);
  assert.equal(await store.has(sha("tampered")), false);
  assert.deepEqual(await readdir(join(store.root, "tmp")), []);
});

test("verify notices a blob changed on disk", async (t) => {
  const store = await tempStore(t);
  const { digest } = await store.write(Readable.from(["content"]));
  await writeFile(store.blobPath(digest), "c0ntent");
  assert.equal(await store.verify(digest), false);
  assert.equal(await store.verify(sha("absent")), false);
});

test("ranged reads return exactly the inclusive byte range", async (t) => {
  const store = await tempStore(t);
  const { digest } = await store.write(Readable.from(["0123456789"]));
  const chunks: Buffer[] = [];
  for await (const chunk of store.read(digest, { start: 2, end: 5 })) chunks.push(chunk as Buffer);
  assert.equal(Buffer.concat(chunks).toString(), "2345");
});

test("sha512 blobs sit beside sha256 ones in blobs/sha512/<hex>, verified with their own algorithm", async (t) => {
  const store = await tempStore(t);
  const content = "same bytes, two names";
  const long = digestOf(content, "sha512");
  const stored = await store.write(Readable.from([content]), long);
  assert.deepEqual(stored, { digest: long, size: content.length });
  const canonical = await store.write(Readable.from([content]));
  assert.equal(canonical.digest, sha(content));
  assert.equal(store.blobPath(long), join(store.root, "blobs", "sha512", long.slice(7)));
  assert.deepEqual(await readdir(join(store.root, "blobs", "sha512")), [long.slice(7)]);
  assert.equal(await store.verify(long), true);
  await assert.rejects(store.write(Readable.from(["tampered"]), digestOf("original", "sha512")), DigestMismatchError);
  assert.deepEqual(await readdir(join(store.root, "blobs", "sha512")), [long.slice(7)]);
  const walked = [];
  for await (const blob of store.walk()) walked.push(blob.digest);
  assert.deepEqual(walked.sort(), [long, sha(content)].sort());
  await writeFile(store.blobPath(long), "changed on disk");
  assert.equal(await store.verify(long), false);
  await store.remove(long);
  assert.equal(await store.has(long), false);
  assert.equal(await store.has(sha(content)), true);
});

test("digests: sha256 and sha512 in their exact form only", () => {
  const hex = digestOf("x", "sha512").slice(7);
  assert.equal(isDigest(`sha512:${hex}`), true);
  for (const bad of [
    `sha512:${hex.toUpperCase()}`,
    `sha512:${hex.slice(2)}`,
    `sha512:${hex.slice(64)}`,
    `sha384:${hex.slice(32)}`,
  ]) {
    assert.equal(isDigest(bad), false, bad);
  }
  assert.throws(() => parseDigest(`sha512:${hex.slice(1)}`, "image"), /image: .* is not a sha256 or sha512 digest/);
  assert.equal(digestFileName(`sha512:${hex}`), `sha512-${hex}`);
  assert.equal(digestFromFileName(`sha512-${hex}`), `sha512:${hex}`);
  assert.equal(digestFromFileName(sha("y").slice(7)), sha("y"));
  assert.equal(digestFromFileName(`sha256-${sha("y").slice(7)}`), undefined);
  assert.equal(digestFromBlobPath(`blobs/sha512/${hex}`), `sha512:${hex}`);
  assert.equal(digestFromBlobPath(`blobs/sha512/${hex.slice(64)}`), undefined);
});
