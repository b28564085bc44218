import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { labNames } from "../../src/lab/names.js";
import { namespaceExists } from "../../src/lab/network.js";
import { REPO, runAirstrap, runProcess, tempDir } from "../helpers/cli.js";
import { labSkipReason } from "../lab/lab-fixture.js";

const manifest = (name: string, bootstrap: string) => `apiVersion: airstrap.io/v1alpha1
kind: Cluster
metadata: { name: ${name} }
spec:
  domain: t.lan
  distro: { name: rke2, version: v1.31.4+rke2r1, arch: amd64 }
  bootstrap: { address: ${bootstrap} }
  hosts:
    - { name: s1, address: 10.233.1.11, role: server }
`;

test("lab status and lab stop without a lab: an operator error with a hint, no stack", async (t) => {
  const skipReason = await labSkipReason();
  if (skipReason) return t.skip(skipReason);
  const dir = await tempDir(t);
  await writeFile(join(dir, "cluster.yaml"), manifest("nolab", "10.233.1.1"));
  for (const args of [
    ["lab", "status"],
    ["lab", "stop", "s1"],
  ]) {
    const result = await runAirstrap([...args, "-f", join(dir, "cluster.yaml")]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /error: no lab is up for this manifest/);
    assert.match(result.stderr, /hint: start it with: airstrap lab up/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
  }
});

test("lab up refuses a site that is not private before touching anything", async (t) => {
  const skipReason = await labSkipReason();
  if (skipReason) return t.skip(skipReason);
  const dir = await tempDir(t);
  const name = `pub${process.pid.toString(36)}`;
  await writeFile(join(dir, "cluster.yaml"), manifest(name, "198.51.100.1"));
  const result = await runAirstrap(["lab", "up", "-f", join(dir, "cluster.yaml")]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /198\.51\.100\.1 is not a private IPv4 address/);
  assert.equal(await namespaceExists(labNames(name).netns), false);
});

test("the shipped bundle holds no simulated distro; the lab bundle does, and its mirror role serves a folder", async (t) => {
  const dir = await tempDir(t);
  const bundle = (entry: string, name: string) => {
    const outfile = join(dir, name);
    execFileSync(process.execPath, ["scripts/build.mjs", "--entry", entry, "--outfile", outfile], { cwd: REPO });
    return outfile;
  };
  const shipped = bundle("src/cli/main.ts", "airstrap.cjs");
  const lab = bundle("src/cli/lab-main.ts", "airstrap-lab.cjs");
  // The simulated distro's programs (server, agent, release mirror); the shipped `airstrap lab`
  // verb only writes the simulated release files it serves.
  const simulation = /function (runSimDistro|runSimServer|runSimAgent|runReleaseMirror)\b/;
  assert.doesNotMatch(await readFile(shipped, "utf8"), simulation);
  assert.match(await readFile(lab, "utf8"), simulation);
  const help = await runProcess(process.execPath, [shipped, "lab-distro", "mirror"], { cwd: dir });
  assert.equal(help.code, 2, "the shipped build does not know the verb");

  const root = join(dir, "mirror");
  await mkdir(join(root, "rke2", "v1.31.4+rke2r1"), { recursive: true });
  await writeFile(join(root, "rke2", "v1.31.4+rke2r1", "sha256sum-amd64.txt"), "sums\n");
  const port = 30000 + (process.pid % 20000);
  const child = spawn(
    process.execPath,
    [lab, "lab-distro", "mirror", "--root", root, "--listen", `127.0.0.1:${port}`],
    {
      stdio: "ignore",
    },
  );
  t.after(() => child.kill());
  const deadline = Date.now() + 30_000;
  let body = "";
  while (Date.now() < deadline) {
    body = await fetch(`http://127.0.0.1:${port}/rke2/v1.31.4%2Brke2r1/sha256sum-amd64.txt`)
      .then((response) => response.text())
      .catch(() => "");
    if (body) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.equal(body, "sums\n");
});
