import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";

/**
 * A load whose young collections keep finding survivors (as a registry's requests in flight do),
 * run in a fresh process so the flag set by one run does not reach the other; prints the young
 * generation's size in bytes before and after.
 */
const survivorLoad = (capped: boolean) => `
  ${capped ? "await import(process.env.YOUNG_GARBAGE_MODULE).then((m) => m.keepYoungGenerationSmall());" : ""}
  const { getHeapSpaceStatistics } = await import("node:v8");
  const youngBytes = () => getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size;
  const before = youngBytes();
  const inFlight = [];
  for (let round = 0; round < 4000; round++) {
    inFlight.push(Array.from({ length: 100 }, (_, i) => ({ round, i, chunk: [i, i + 1] })));
    if (inFlight.length > 20) inFlight.shift();
  }
  console.log(JSON.stringify({ before, after: youngBytes() }));
`;

function youngGeneration(capped: boolean): { before: number; after: number } {
  const module = new URL("../../../../src/services/registry/storage/young-garbage.ts", import.meta.url).href;
  const output = execFileSync(
    process.execPath,
    ["--import", "tsx", "--input-type=module", "-e", survivorLoad(capped)],
    {
      env: { ...process.env, YOUNG_GARBAGE_MODULE: module },
      encoding: "utf8",
    },
  );
  return JSON.parse(output);
}

test("keepYoungGenerationSmall holds the young generation at its size under a load that grows it otherwise", () => {
  const uncapped = youngGeneration(false);
  assert.ok(uncapped.after > uncapped.before, `the load grows the young generation (${JSON.stringify(uncapped)})`);
  const capped = youngGeneration(true);
  assert.ok(capped.after <= capped.before, `it stays (${JSON.stringify(capped)})`);
});
