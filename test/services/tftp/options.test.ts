import assert from "node:assert/strict";
import { test } from "node:test";
import { negotiate } from "../../../src/services/tftp/options.js";

const limits = { maxBlksize: 8192, maxWindowsize: 16, timeoutMs: 1000 };

test("no options: RFC 1350 lock-step at 512 bytes, no OACK", () => {
  const result = negotiate(new Map(), 1000, limits);
  assert.deepEqual(result, { blksize: 512, windowsize: 1, timeoutMs: 1000, accepted: new Map() });
});

test("blksize, tsize, timeout and windowsize are granted within the limits", () => {
  const asked = new Map([
    ["blksize", "1468"],
    ["tsize", "0"],
    ["timeout", "3"],
    ["windowsize", "8"],
  ]);
  const result = negotiate(asked, 123456, limits);
  assert.equal(result.blksize, 1468);
  assert.equal(result.windowsize, 8);
  assert.equal(result.timeoutMs, 3000);
  assert.deepEqual(
    result.accepted,
    new Map([
      ["blksize", "1468"],
      ["tsize", "123456"],
      ["timeout", "3"],
      ["windowsize", "8"],
    ]),
  );
});

test("values above the limits are clamped; huge ones too", () => {
  const result = negotiate(
    new Map([
      ["blksize", "99999999999999999999"],
      ["windowsize", "65536"],
    ]),
    10,
    limits,
  );
  assert.equal(result.blksize, 8192);
  assert.equal(result.windowsize, 16);
  assert.equal(result.accepted.get("blksize"), "8192");
});

test("unreadable or out-of-range values and unknown options are left out of the OACK", () => {
  const result = negotiate(
    new Map([
      ["blksize", "7"],
      ["tsize", "-1"],
      ["timeout", "256"],
      ["windowsize", "0"],
      ["multicast", ""],
      ["utimeout", "1e3"],
    ]),
    10,
    limits,
  );
  assert.deepEqual(result, { blksize: 512, windowsize: 1, timeoutMs: 1000, accepted: new Map() });
});
