import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { copyFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { example, REPO, runProcess, tempDir } from "../helpers/cli.js";

test("the single-file executable validates a manifest with no Node.js and no node_modules", async (t) => {
  const dir = await tempDir(t, "airstrap-dist-");
  const build = await runProcess(process.execPath, ["scripts/build.mjs"], { cwd: REPO });
  assert.equal(build.code, 0, build.stderr);
  const binary = join(dir, "airstrap-linux-test");
  const dist = await runProcess("bash", ["scripts/dist.sh", binary], { cwd: REPO });
  assert.equal(dist.code, 0, dist.stderr);

  await copyFile(example("rke2-ha.yaml"), join(dir, "cluster.yaml"));
  // No PATH (so no node to fall back on) and a folder without node_modules.
  const env = { HOME: dir, NO_COLOR: "1" };
  const valid = await runProcess(binary, ["validate"], { cwd: dir, env });
  assert.equal(valid.code, 0, valid.stderr);
  assert.match(valid.stdout, /cluster\.yaml is valid: 3 servers, 2 agents/);
  await copyFile(example("invalid/wrong-types.yaml"), join(dir, "bad.yaml"));
  const invalid = await runProcess(binary, ["validate", "-f", "bad.yaml"], { cwd: dir, env });
  assert.equal(invalid.code, 1);
  assert.match(invalid.stdout, /bad\.yaml:9:11: error/);
});

test("the executable is built only from the pinned Node: another node on PATH is refused, naming both versions", async (t) => {
  const dir = await tempDir(t, "airstrap-dist-pin-");
  const pinned = `v${readFileSync(join(REPO, ".node-version"), "utf8").trim()}`;
  assert.equal(pinned, process.version, "the pin in .node-version names the Node the tests run on");
  // A `node` first on PATH that reports another version (and would be copied into the executable).
  const fakeBin = join(dir, "bin");
  mkdirSync(fakeBin);
  writeFileSync(join(fakeBin, "node"), "#!/bin/sh\necho v99.1.0\n", { mode: 0o755 });
  const binary = join(dir, "airstrap-wrong-node");
  const dist = await runProcess("bash", ["scripts/dist.sh", binary], {
    cwd: REPO,
    env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH}` },
  });
  assert.equal(dist.code, 1);
  assert.match(
    dist.stderr,
    new RegExp(
      `built from Node ${pinned.replaceAll(".", "\\.")} \\(pinned in \\.node-version\\), but the node on PATH is v99\\.1\\.0`,
    ),
  );
  assert.ok(!existsSync(binary), "nothing is written");
});
