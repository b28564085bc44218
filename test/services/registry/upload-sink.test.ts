import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { test } from "node:test";
import { remainderAfter, UploadSink } from "../../../src/services/registry/storage/upload-sink.js";
import { tempDir } from "./harness.js";

test("the sink appends every byte in order across its 1 MiB batches and shows each chunk as it comes", async (t) => {
  const dir = await tempDir(t, "upload-sink");
  const path = join(dir, "data");
  const already = Buffer.from("bytes from an earlier request\n");
  await writeFile(path, already);
  // Odd sizes, so chunks straddle batch edges; about 40 MiB, past the first early datasync.
  const chunks = Array.from({ length: 700 }, (_, i) => randomBytes(40_000 + ((i * 7919) % 50_000)));
  const seen = createHash("sha256");
  let observed = 0;
  await pipeline(
    Readable.from(chunks),
    new UploadSink(path, (chunk) => {
      seen.update(chunk);
      observed += chunk.length;
    }),
  );
  const expected = Buffer.concat([already, ...chunks]);
  const onDisk = await readFile(path);
  assert.equal(onDisk.length, expected.length);
  assert.ok(onDisk.equals(expected));
  assert.equal(observed, expected.length - already.length);
  assert.equal(seen.digest("hex"), createHash("sha256").update(Buffer.concat(chunks)).digest("hex"));
});

test("after a short writev exactly the unwritten bytes are left, in order", () => {
  const parts = [Buffer.from("abc"), Buffer.from("defg"), Buffer.from("hi")];
  const rest = (written: number) => Buffer.concat(remainderAfter(parts, written)).toString();
  assert.equal(rest(0), "abcdefghi");
  assert.equal(rest(2), "cdefghi");
  assert.equal(rest(3), "defghi");
  assert.equal(rest(5), "fghi");
  assert.equal(rest(8), "i");
  assert.equal(rest(9), "");
});
