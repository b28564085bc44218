import assert from "node:assert/strict";
import { test } from "node:test";
import { bundleLayout, partSizes, segmentsOf } from "../../../src/artifacts/bundle/format.js";
import { parseSize } from "../../../src/artifacts/bundle/size.js";
import { BLOCK, entrySpan, parseTarHeader, tarHeader } from "../../../src/artifacts/bundle/tar-header.js";

test("tar headers round-trip name and size, including sizes past ustar's 8 GiB (GNU base-256)", () => {
  for (const size of [0, 1, 511, 512, 8 * 1024 ** 3 - 1, 8 * 1024 ** 3, 37 * 1024 ** 3 + 5]) {
    const header = tarHeader("blobs/sha256/x", size);
    assert.equal(header.length, BLOCK);
    assert.deepEqual(parseTarHeader(header), { name: "blobs/sha256/x", size });
  }
  assert.equal(tarHeader("a", 1).subarray(257, 263).toString("latin1"), "ustar\0");
  assert.throws(() => tarHeader("x".repeat(101), 1), /longer than 100 bytes/);
});

test("the layout follows from the index length and entry sizes; parts and segments from the part size", () => {
  const layout = bundleLayout(700, [{ size: 1 }, { size: 512 }]);
  assert.equal(layout.signatureOffset, entrySpan(700));
  assert.equal(layout.entryOffsets[0], entrySpan(700) + entrySpan(128));
  assert.equal(layout.entryOffsets[1], layout.entryOffsets[0]! + 1024);
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
