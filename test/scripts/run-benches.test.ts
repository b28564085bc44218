import assert from "node:assert/strict";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { REPO, runProcess, tempDir } from "../helpers/cli.js";
import { notOnThisMachine } from "../helpers/skip.js";

const RUN_BENCHES = join(REPO, "scripts/run-benches.sh");

async function fakeBench(root: string, name: string, body: string): Promise<void> {
  await mkdir(join(root, name));
  const script = join(root, name, "run.sh");
  await writeFile(script, `#!/usr/bin/env bash\n${body}\n`);
  await chmod(script, 0o755);
}

test("every bench runs after one skips or fails, and the end names the skipped and the failed", async (t) => {
  const root = await tempDir(t, "airstrap-benches-");
  await fakeBench(root, "a-fine", "echo fine a");
  await fakeBench(root, "b-needs-root", 'echo "SKIP: the lab needs root"; exit 77');
  await fakeBench(root, "c-broken", "echo broken >&2; exit 3");
  await fakeBench(root, "d-fine", "echo fine d");
  const run = await runProcess("bash", [RUN_BENCHES, root]);
  assert.equal(run.code, 1, "a failed bench fails the run");
  assert.match(run.stdout, /fine a/);
  assert.match(run.stdout, /fine d/, "the bench after a skip and a failure still ran");
  assert.match(run.stdout, /benches: 2 ran, 1 skipped, 1 failed/);
  assert.match(run.stdout, /skipped .*b-needs-root\/run\.sh: the lab needs root/);
  assert.match(run.stdout, /failed .*c-broken\/run\.sh: exit 3/);
});

test("skipped benches are reported but do not fail the run", async (t) => {
  const root = await tempDir(t, "airstrap-benches-");
  await fakeBench(root, "a-fine", "true");
  await fakeBench(root, "b-skips", "exit 77");
  const run = await runProcess("bash", [RUN_BENCHES, root]);
  assert.equal(run.code, 0, run.stdout);
  assert.match(run.stdout, /benches: 1 ran, 1 skipped, 0 failed/);
  assert.match(run.stdout, /skipped .*b-skips\/run\.sh: no reason given/);
});

test("the install bench skips with exit 77 and a reason when not root", async (t) => {
  const probe = await runProcess("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "true"]);
  if (probe.code !== 0) return t.skip(notOnThisMachine("setpriv cannot drop to user nobody (needs root)"));
  const run = await runProcess("setpriv", [
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "bash",
    join(REPO, "bench/install/run.sh"),
  ]);
  assert.equal(run.code, 77, run.stdout + run.stderr);
  assert.match(run.stdout, /^SKIP: the lab needs root/m);
});
