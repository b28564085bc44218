import assert from "node:assert/strict";
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { test } from "node:test";
import { colorsFor } from "../../src/cli/terminal.js";
import { example, runAirstrap, tempDir } from "../helpers/cli.js";

async function treeOf(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(path: string) {
    for (const entry of await readdir(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) await walk(full);
      else
        out[`${relative(dir, full)} ${((await stat(full)).mode & 0o777).toString(8)}`] = await readFile(full, "utf8");
    }
  }
  await walk(dir);
  return out;
}

test("--help works for the program and every command", async () => {
  const top = await runAirstrap(["--help"]);
  assert.equal(top.code, 0);
  const verbs = ["init", "validate", "plan", "generate", "schema"];
  for (const verb of verbs) assert.match(top.stdout, new RegExp(`\\b${verb}\\b`));
  const helps = await Promise.all(verbs.map((verb) => runAirstrap([verb, "--help"])));
  helps.forEach((result, i) => {
    assert.equal(result.code, 0, verbs[i]);
    assert.match(result.stdout, new RegExp(`Usage: airstrap ${verbs[i]}`));
  });
});

test("usage errors exit 2, invalid manifests 1, valid 0", async (t) => {
  const dir = await tempDir(t);
  const [unknownFlag, unknownCommand, badChoice, missingFile, invalid, valid] = await Promise.all([
    runAirstrap(["validate", "--nope"]),
    runAirstrap(["frobnicate"]),
    runAirstrap(["plan", "-f", example("rke2-ha.yaml"), "--output", "xml"]),
    runAirstrap(["validate"], { cwd: dir }),
    runAirstrap(["validate", "-f", example("invalid/duplicates.yaml")]),
    runAirstrap(["validate", "-f", example("rke2-ha.yaml")]),
  ]);
  assert.equal(unknownFlag.code, 2);
  assert.equal(unknownCommand.code, 2);
  assert.equal(badChoice.code, 2);
  assert.equal(missingFile.code, 1);
  assert.match(missingFile.stderr, /cluster\.yaml: no such file/);
  assert.match(missingFile.stderr, /hint: .*airstrap init/);
  assert.equal(invalid.code, 1);
  assert.match(invalid.stdout, /duplicates\.yaml:11:15: error: spec\.hosts\[1\]\.name: duplicate host name/);
  assert.match(invalid.stdout, /warning: .*even number/);
  assert.match(invalid.stdout, /4 errors/);
  assert.doesNotMatch(invalid.stdout + invalid.stderr, /\n\s+at /, "no stack trace for a user mistake");
  assert.equal(valid.code, 0);
  assert.match(valid.stdout, /is valid: 3 servers, 2 agents, rke2 v1\.31\.4\+rke2r1/);
});

test("validate --output json lists every diagnostic with its position", async () => {
  const result = await runAirstrap(["validate", "-f", example("invalid/unknown-keys.yaml"), "--output", "json"]);
  assert.equal(result.code, 1);
  const report = JSON.parse(result.stdout);
  assert.equal(report.valid, false);
  assert.deepEqual(
    report.diagnostics.map((d: { line: number; column: number }) => `${d.line}:${d.column}`),
    ["7:3", "10:5", "13:7"],
  );
});

test("init --example writes a valid commented manifest and refuses to overwrite it", async (t) => {
  const dir = await tempDir(t);
  assert.equal((await runAirstrap(["init", "--example"], { cwd: dir })).code, 0);
  assert.match(await readFile(join(dir, "cluster.yaml"), "utf8"), /^# airstrap cluster manifest/);
  assert.equal((await runAirstrap(["validate"], { cwd: dir })).code, 0);
  const again = await runAirstrap(["init", "--example"], { cwd: dir });
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists/);
  assert.equal((await runAirstrap(["init", "--example", "--force"], { cwd: dir })).code, 0);
  assert.equal((await runAirstrap(["init", "--example", "other.yaml"], { cwd: dir })).code, 0);
  assert.equal((await runAirstrap(["validate", "-f", "other.yaml"], { cwd: dir })).code, 0);
});

test("init on a site with no machine booting over PXE says so, before anything is started", async (t) => {
  const dir = await tempDir(t);
  assert.equal((await runAirstrap(["init", "--example"], { cwd: dir })).code, 0);
  const result = await runAirstrap(["init", "-f", "cluster.yaml", "--timeout", "5"], { cwd: dir });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /nothing to boot: no host boots over PXE/);
  assert.match(result.stderr, /hint: .*mac/);
});

test("plan prints the join order as text and the whole plan as JSON", async () => {
  const [text, json] = await Promise.all([
    runAirstrap(["plan", "-f", example("rke2-ha.yaml")]),
    runAirstrap(["plan", "-f", example("rke2-ha.yaml"), "--output", "json"]),
  ]);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /then one at a time: k8s-server-02 → k8s-server-03/);
  const plan = JSON.parse(json.stdout);
  assert.equal(plan.joinUrl, "https://edge-cluster.edge.lan:19345");
});

test("generate is deterministic, reuses the token, keeps it out of every output, and guards foreign folders", async (t) => {
  const dir = await tempDir(t);
  await copyFile(example("rke2-ha.yaml"), join(dir, "cluster.yaml"));
  const first = await runAirstrap(["generate", "-o", "out"], { cwd: dir });
  assert.equal(first.code, 0, first.stderr);
  const token = (await readFile(join(dir, ".airstrap/token"), "utf8")).trim();
  assert.match(token, /^[0-9a-f]{64}$/);
  assert.equal((await stat(join(dir, ".airstrap"))).mode & 0o777, 0o700);
  assert.equal((await stat(join(dir, ".airstrap/token"))).mode & 0o777, 0o600);
  const tree = await treeOf(join(dir, "out"));
  assert.equal(tree["hosts/k8s-agent-01/etc/rancher/rke2/config.yaml 600"]?.includes(`token: ${token}`), true);
  // + 7: the in-cluster Kustomize folder (6 objects and kustomization.yaml).
  assert.equal(Object.keys(tree).length, 2 + 5 * 4 + 3 + 7);

  const second = await runAirstrap(["generate", "-o", "out"], { cwd: dir });
  assert.equal(second.code, 0);
  assert.deepEqual(await treeOf(join(dir, "out")), tree);
  for (const result of [first, second])
    assert.ok(!(result.stdout + result.stderr).includes(token), "the token reached the terminal");

  await mkdir(join(dir, "mine"));
  await writeFile(join(dir, "mine/notes.txt"), "keep me");
  const refused = await runAirstrap(["generate", "-o", "mine"], { cwd: dir });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /did not write/);
  assert.equal(await readFile(join(dir, "mine/notes.txt"), "utf8"), "keep me");
});

test("an invalid manifest generates nothing", async (t) => {
  const dir = await tempDir(t);
  const result = await runAirstrap(["generate", "-f", example("invalid/networks.yaml"), "-o", join(dir, "out")]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /networks\.yaml:12:18: error/);
  await assert.rejects(stat(join(dir, "out")));
});

test("schema prints a JSON Schema", async () => {
  const result = await runAirstrap(["schema"]);
  assert.equal(result.code, 0);
  const schema = JSON.parse(result.stdout);
  assert.equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
  assert.deepEqual(schema.properties.spec.properties.distro.properties.name.enum, ["rke2", "k3s"]);
});

test("colors only on a terminal, and never with NO_COLOR", () => {
  const tty = { isTTY: true } as NodeJS.WriteStream;
  const saved = process.env.NO_COLOR;
  try {
    delete process.env.NO_COLOR;
    assert.notEqual(colorsFor(tty).red("x"), "x");
    assert.equal(colorsFor({ isTTY: false } as NodeJS.WriteStream).red("x"), "x");
    process.env.NO_COLOR = "1";
    assert.equal(colorsFor(tty).red("x"), "x");
  } finally {
    if (saved === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = saved;
  }
});
