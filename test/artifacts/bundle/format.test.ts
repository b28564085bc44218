import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { bundleLayout, partSizes, segmentsOf } from "../../../src/artifacts/bundle/format.js";
import { parseSize } from "../../../src/artifacts/bundle/size.js";
import {
  BLOCK,
  END_OF_ARCHIVE,
  entrySpan,
  headerLength,
  paddingFor,
  parseTarHeader,
  tarHeader,
} from "../../../src/artifacts/bundle/tar-header.js";

test("tar headers round-trip name and size, including sizes past ustar's 8 GiB (GNU base-256)", () => {
  for (const size of [0, 1, 511, 512, 8 * 1024 ** 3 - 1, 8 * 1024 ** 3, 37 * 1024 ** 3 + 5]) {
    const header = tarHeader("blobs/sha256/x", size);
    assert.equal(header.length, BLOCK);
    assert.deepEqual(parseTarHeader(header), { name: "blobs/sha256/x", size });
  }
  assert.equal(tarHeader("a", 1).subarray(257, 263).toString("latin1"), "ustar\0");
  assert.throws(() => tarHeader("x".repeat(600), 1), /longer than 496 bytes/);
});

test("a name past ustar's 100 bytes (a sha512 blob) travels in a pax header that GNU tar reads", async (t) => {
  const name = `blobs/sha512/${"ab".repeat(64)}`;
  const content = Buffer.from("sha512 blob content");
  const header = tarHeader(name, content.length);
  assert.equal(header.length, headerLength(name));
  assert.equal(header.length, 3 * BLOCK);
  assert.equal(headerLength("blobs/sha256/x"), BLOCK);
  const dir = await mkdtemp(join(tmpdir(), "airstrap-pax-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const archive = join(dir, "long.tar");
  await writeFile(
    archive,
    Buffer.concat([header, content, Buffer.alloc(paddingFor(content.length)), Buffer.alloc(END_OF_ARCHIVE)]),
  );
  const listed = execFileSync("tar", ["-tf", archive], { encoding: "utf8" });
  assert.equal(listed, `${name}\n`);
  assert.equal(execFileSync("tar", ["-xOf", archive, name], { encoding: "utf8" }), content.toString());
});

test("the layout follows from the index length and entry sizes; parts and segments from the part size", () => {
  const long = `blobs/sha512/${"0".repeat(128)}`;
  const layout = bundleLayout(700, [
    { size: 1, path: "blobs/sha256/a" },
    { size: 512, path: long },
    { size: 3, path: "blobs/sha256/b" },
  ]);
  assert.equal(layout.signatureOffset, entrySpan(700));
  assert.equal(layout.entryOffsets[0], entrySpan(700) + entrySpan(128));
  assert.equal(layout.contentOffsets[0], layout.entryOffsets[0]! + BLOCK);
  assert.equal(layout.entryOffsets[1], layout.entryOffsets[0]! + 1024);
  assert.equal(layout.contentOffsets[1], layout.entryOffsets[1]! + 3 * BLOCK);
  assert.equal(layout.entryOffsets[2], layout.entryOffsets[1]! + 3 * BLOCK + 512);
  assert.equal(layout.totalSize, layout.endOffset + 1024);
  assert.deepEqual(partSizes(10_000, 4096), [4096, 4096, 1808]);
  assert.deepEqual(partSizes(10_000, undefined), [10_000]);
  assert.deepEqual(segmentsOf(4000, 5000, 4096), [
    { part: 0, size: 96 },
    { part: 1, size: 4096 },
    { part: 2, size: 808 },
  ]);
});

test("--split sizes: binary units, at least 1M", () => {
  assert.equal(parseSize("4095M"), 4095 * 1024 * 1024);
  assert.equal(parseSize("4G"), 4 * 1024 ** 3);
  assert.equal(parseSize("2GiB"), 2 * 1024 ** 3);
  assert.equal(parseSize("1048576"), 1048576);
  assert.throws(() => parseSize("4 gigs"), /--split 4 gigs: not a size/);
  assert.throws(() => parseSize("100K"), /at least 1M/);
});
