import assert from "node:assert/strict";
import { test } from "node:test";
import { afterCheck, afterConnectFailure, type Health, initialHealth } from "../../../src/services/lb/health.js";

const hysteresis = { rise: 2, fall: 3 };
const run = (start: Health, results: boolean[]) => results.reduce((h, ok) => afterCheck(h, ok, hysteresis), start);

test("the first verdict is taken at once, either way", () => {
  assert.equal(afterCheck(initialHealth(), true, hysteresis).state, "up");
  assert.equal(afterCheck(initialHealth(), false, hysteresis).state, "down");
});

test("an up backend goes down only after `fall` consecutive failures", () => {
  const up = run(initialHealth(), [true]);
  assert.equal(run(up, [false, false]).state, "up");
  assert.equal(run(up, [false, false, false]).state, "down");
  assert.equal(run(up, [false, false, true, false, false]).state, "up", "a success in between resets the streak");
});

test("a down backend comes back only after `rise` consecutive successes", () => {
  const down = run(initialHealth(), [false]);
  assert.equal(run(down, [true]).state, "down");
  assert.equal(run(down, [true, true]).state, "up");
  assert.equal(run(down, [true, false, true]).state, "down");
});

test("a backend that alternates every check never changes state", () => {
  const up = run(initialHealth(), [true]);
  const flapping = Array.from({ length: 40 }, (_, i) => i % 2 === 0);
  let health = up;
  for (const ok of flapping) {
    health = afterCheck(health, ok, hysteresis);
    assert.equal(health.state, "up");
  }
});

test("passive connect failures share the failure streak with active checks", () => {
  const up = run(initialHealth(), [true]);
  const afterTwoChecks = run(up, [false, false]);
  assert.equal(afterConnectFailure(afterTwoChecks, hysteresis).state, "down");
  let passiveOnly = up;
  for (let i = 0; i < 3; i++) passiveOnly = afterConnectFailure(passiveOnly, hysteresis);
  assert.equal(passiveOnly.state, "down");
});

test("only a passing active check ends a passive failure streak", () => {
  const up = run(initialHealth(), [true]);
  const cleared = afterCheck(afterConnectFailure(up, hysteresis), true, hysteresis);
  assert.equal(cleared.failures, 0);
  const twoFailures = afterConnectFailure(afterConnectFailure(cleared, hysteresis), hysteresis);
  assert.equal(twoFailures.state, "up");
  assert.equal(afterConnectFailure(twoFailures, hysteresis).state, "down");
});
