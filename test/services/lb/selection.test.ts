import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { BackendState } from "../../../src/services/lb/health.js";
import { type Candidate, connectOrder, tierBackends } from "../../../src/services/lb/selection.js";

const c = (
  key: string,
  state: BackendState,
  activeConnections = 0,
  tier: Candidate["tier"] = "primary",
): Candidate => ({
  key,
  state,
  activeConnections,
  tier,
});

test("healthy backends first, fewest connections first", () => {
  const order = connectOrder([c("a", "up", 5), c("b", "down"), c("c", "up", 1), c("d", "unchecked")], 0);
  assert.deepEqual(
    order.map((x) => x.key),
    ["c", "a", "d", "b"],
  );
});

test("equally loaded backends take turns being first", () => {
  const candidates = [c("a", "up"), c("b", "up"), c("c", "up")];
  const firsts = [0, 1, 2, 3, 4, 5].map((rotation) => connectOrder(candidates, rotation)[0]!.key);
  assert.deepEqual(new Set(firsts), new Set(["a", "b", "c"]));
});

test("healthy standbys come after healthy primaries, before anything unhealthy", () => {
  const order = connectOrder([c("s", "up", 0, "standby"), c("p", "up", 9), c("x", "down")], 0);
  assert.deepEqual(
    order.map((x) => x.key),
    ["p", "s", "x"],
  );
});

test("with every backend down, all are still tried (unchecked before down)", () => {
  const order = connectOrder([c("a", "down"), c("b", "unchecked"), c("s", "down", 0, "standby")], 7);
  assert.deepEqual(
    order.map((x) => x.key),
    ["b", "a", "s"],
  );
});

test("property: the order is a permutation with every healthy backend before every unhealthy one", () => {
  const arbitraryCandidate = fc.record({
    state: fc.constantFrom<BackendState>("up", "down", "unchecked"),
    activeConnections: fc.nat(20),
    tier: fc.constantFrom<Candidate["tier"]>("primary", "standby"),
  });
  fc.assert(
    fc.property(fc.array(arbitraryCandidate, { maxLength: 8 }), fc.nat(), (list, rotation) => {
      const candidates = list.map((x, i) => ({ ...x, key: String(i) }));
      const order = connectOrder(candidates, rotation);
      assert.deepEqual([...order.map((x) => x.key)].sort(), candidates.map((x) => x.key).sort());
      const firstUnhealthy = order.findIndex((x) => x.state !== "up");
      if (firstUnhealthy >= 0) assert.ok(order.slice(firstUnhealthy).every((x) => x.state !== "up"));
      const healthy = order.filter((x) => x.state === "up");
      const firstStandby = healthy.findIndex((x) => x.tier === "standby");
      if (firstStandby >= 0) assert.ok(healthy.slice(firstStandby).every((x) => x.tier === "standby"));
    }),
  );
});

test("discovered backends replace the static ones; unlisted static ones stay as standbys", () => {
  const key = (b: string) => b;
  assert.deepEqual(tierBackends(["a", "b"], [], key), [
    { backend: "a", tier: "primary" },
    { backend: "b", tier: "primary" },
  ]);
  assert.deepEqual(tierBackends(["a", "b"], ["b", "c"], key), [
    { backend: "b", tier: "primary" },
    { backend: "c", tier: "primary" },
    { backend: "a", tier: "standby" },
  ]);
});
