import assert from "node:assert/strict";
import { test } from "node:test";
import { readyPollDelayMs } from "../../src/install/phases/start-distro.js";

test("readiness polls start quick and settle at one check every 2 s", () => {
  const delays = Array.from({ length: 12 }, (_, i) => readyPollDelayMs(i + 1));
  assert.equal(delays[0], 250);
  for (let i = 1; i < delays.length; i++) assert.ok(delays[i]! >= delays[i - 1]!, `never shorter: ${delays}`);
  assert.equal(delays.at(-1), 2000);
  assert.ok(Math.max(...delays) <= 2000);
  // A node ready after 3 s is seen within half a second of it.
  const checkTimes = delays.map((_, i) => delays.slice(0, i).reduce((sum, d) => sum + d, 0));
  const seen = checkTimes.find((t) => t >= 3000)!;
  assert.ok(seen - 3000 <= 500, `checked at ${checkTimes}`);
  // Over ten minutes it checks about 300 times, not 2400.
  let elapsed = 0;
  let checks = 0;
  while (elapsed < 600_000) elapsed += readyPollDelayMs(++checks);
  assert.ok(checks < 310, `${checks} checks`);
});
