import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { REPO, runAirstrap, tempDir } from "../helpers/cli.js";

const readme = readFileSync(join(REPO, "README.md"), "utf8");
const makefile = readFileSync(join(REPO, "Makefile"), "utf8");

/** The command lines of the Quick start block, comments and blank lines dropped. */
function quickStart(): string[] {
  const section = readme.slice(readme.indexOf("## Quick start"));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, "README has a Quick start sh block");
  return block
    .split("\n")
    .map((line) => line.replace(/\s+#.*$/, "").trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

test("the Quick start builds the executable before up ships it", () => {
  const lines = quickStart();
  const dist = lines.indexOf("make dist");
  const up = lines.findIndex((line) => line.startsWith("airstrap up"));
  assert.ok(dist >= 0 && up >= 0, lines.join("\n"));
  assert.ok(dist < up, "make dist comes before airstrap up");
});

test("every make target and airstrap command the README names exists", async () => {
  for (const [, target = ""] of readme.matchAll(/(?:^|`)make ([a-z-]+)/gm)) {
    assert.match(makefile, new RegExp(`^${target}:`, "m"), `make ${target} is not a Makefile target`);
  }
  const help = await runAirstrap(["--help"]);
  const verbs = new Set([...help.stdout.matchAll(/^ {2}([a-z-]+)/gm)].map((m) => m[1]));
  for (const line of quickStart().filter((l) => l.startsWith("airstrap "))) {
    const verb = line.split(/\s+/)[1]!;
    assert.ok(verbs.has(verb), `airstrap ${verb} is not a command`);
  }
  for (const [, link = ""] of readme.matchAll(/\]\(([^)#]+)\)/g)) {
    if (!link.startsWith("http")) assert.ok(existsSync(join(REPO, link)), `README links to missing ${link}`);
  }
});

test("the Quick start's init, validate and plan work in that order in an empty folder", async (t) => {
  const dir = await tempDir(t, "airstrap-readme-");
  for (const line of quickStart().filter((l) => /^airstrap (init|validate|plan)\b/.test(l))) {
    const result = await runAirstrap(line.split(/\s+/).slice(1), { cwd: dir });
    assert.equal(result.code, 0, `${line}: ${result.stderr}`);
  }
  assert.ok(existsSync(join(dir, "cluster.yaml")));
});

test("every airstrap command the README's prose names exists, down to its subcommand", async () => {
  const help = await runAirstrap(["--help"]);
  const verbs = new Set([...help.stdout.matchAll(/^ {2}([a-z-]+)/gm)].map((m) => m[1]));
  const named = new Map<string, Set<string>>();
  for (const [, verb = "", sub] of readme.matchAll(/`airstrap ([a-z-]+)(?: ([a-z][a-z-]*))?/g)) {
    assert.ok(verbs.has(verb), `the README names airstrap ${verb}, which is not a command`);
    if (!named.has(verb)) named.set(verb, new Set());
    if (sub) named.get(verb)!.add(sub);
  }
  for (const [verb, subs] of named) {
    const verbHelp = (await runAirstrap([verb, "--help"])).stdout;
    if (!/^Commands:/m.test(verbHelp)) continue;
    const commands = new Set([...verbHelp.matchAll(/^ {2}([a-z-]+)/gm)].map((m) => m[1]));
    for (const sub of subs)
      assert.ok(commands.has(sub), `the README names airstrap ${verb} ${sub}, which is not a command`);
  }
});
