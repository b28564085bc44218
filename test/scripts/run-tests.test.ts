import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { REPO, runProcess } from "../helpers/cli.js";

const fixture = (name: string) => join("test/scripts/fixtures", name);

function runTests(file: string, ci: string | undefined) {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: ci, NO_COLOR: "1" };
  if (ci === undefined) delete env.CI;
  // Set by the runner running this file; inherited, it would make the inner runner report to it.
  delete env.NODE_TEST_CONTEXT;
  return runProcess(process.execPath, ["scripts/run-tests.mjs", fixture(file)], { cwd: REPO, env });
}

test("with CI=true a skip for a fixable reason fails the run, naming the test and the reason", async () => {
  const run = await runTests("skips-fixable.fixture.ts", "true");
  assert.equal(run.code, 1, run.stdout);
  assert.match(run.stdout, /ℹ skipped 1/, "the runner's own summary is still printed");
  assert.match(run.stdout, /CI=true: 1 test\(s\) skipped/);
  assert.match(run.stdout, /skips-fixable\.fixture\.ts: needs a tool — frobnicate is not installed/);
});

test("without CI the same skip is listed but does not fail the run", async () => {
  const run = await runTests("skips-fixable.fixture.ts", undefined);
  assert.equal(run.code, 0, run.stdout);
  assert.match(run.stdout, /needs a tool — frobnicate is not installed/);
});

test("with CI=true a skip whose reason says the machine lacks it passes", async () => {
  const run = await runTests("skips-allowed.fixture.ts", "true");
  assert.equal(run.code, 0, run.stdout);
  assert.match(run.stdout, /skipped, allowed \(1\):/);
  assert.match(run.stdout, /needs a virtual machine — not on this machine: no \/dev\/kvm/);
});
