import assert from "node:assert/strict";
import { test } from "node:test";
import {
  enclosingSiteNetwork,
  formatNetwork,
  networkContains,
  networksOverlap,
  parseAddress,
  parseNetwork,
} from "../../src/net/ip.js";

const net = (text: string) => {
  const parsed = parseNetwork(text);
  assert.ok(parsed, text);
  return parsed;
};

test("containment respects the prefix and the address family", () => {
  assert.equal(networkContains(net("10.42.0.0/16"), "10.42.255.1"), true);
  assert.equal(networkContains(net("10.42.0.0/16"), "10.43.0.1"), false);
  assert.equal(networkContains(net("fd00::/8"), "fd12::1"), true);
  assert.equal(networkContains(net("10.0.0.0/8"), "fd12::1"), false);
  assert.equal(networkContains(net("0.0.0.0/0"), "192.0.2.1"), true);
});

test("overlap is symmetric and detects nesting", () => {
  assert.equal(networksOverlap(net("10.42.0.0/16"), net("10.42.128.0/17")), true);
  assert.equal(networksOverlap(net("10.42.128.0/17"), net("10.42.0.0/16")), true);
  assert.equal(networksOverlap(net("10.42.0.0/16"), net("10.43.0.0/16")), false);
  assert.equal(networksOverlap(net("fd00:1::/64"), net("fd00:1::/48")), true);
});

test("host bits are cleared and networks print in canonical form", () => {
  assert.equal(formatNetwork(net("10.77.0.99/24")), "10.77.0.0/24");
  assert.equal(formatNetwork(net("fd00:0:0:1::5/64")), "fd00:0:0:1::/64");
  assert.equal(enclosingSiteNetwork("10.77.0.11"), "10.77.0.0/24");
  assert.equal(enclosingSiteNetwork("2001:db8:1:2::11"), "2001:db8:1:2::/64");
});

test("malformed input is rejected rather than guessed", () => {
  assert.equal(parseNetwork("10.0.0.0"), undefined);
  assert.equal(parseNetwork("10.0.0.0/33"), undefined);
  assert.equal(parseNetwork("10.0.0.256/8"), undefined);
  assert.equal(parseAddress("::ffff:10.0.0.1")?.value, 0xffff0a000001n);
});
