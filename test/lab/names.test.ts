import assert from "node:assert/strict";
import { test } from "node:test";
import { hostMachine, isValidLabName, labNames } from "../../src/lab/names.js";

test("kernel names fit the 15-byte interface limit and differ between labs", () => {
  const a = labNames("edge");
  const b = labNames("edge2");
  for (const names of [a, b]) {
    assert.ok(names.hostLink.length <= 15 && names.siteLink.length <= 15, names.hostLink);
    assert.ok(hostMachine(names, 99).bridgeLink.length <= 15);
  }
  assert.notEqual(a.hostLink, b.hostLink);
  assert.notEqual(a.netns, b.netns);
  assert.notEqual(hostMachine(a, 0).machine, hostMachine(b, 0).machine);
  assert.deepEqual(labNames("edge"), a);
});

test("lab names are what a namespace can be named after", () => {
  assert.equal(isValidLabName("edge-01"), true);
  assert.equal(isValidLabName("Edge"), false);
  assert.equal(isValidLabName("-edge"), false);
  assert.equal(isValidLabName("a/b"), false);
  assert.equal(isValidLabName("x".repeat(33)), false);
});
