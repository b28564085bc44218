import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { test } from "node:test";
import { DigestMismatchError, openBlobStore } from "../../src/store/blob-store.js";
import type { Digest } from "../../src/store/digest.js";

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
