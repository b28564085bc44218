import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { REPO, runProcess, tempDir } from "../helpers/cli.js";

const packageJson = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as {
  scripts: Record<string, string>;
  bin: Record<string, string>;
};

/** Words of a script that name a file in the repository (a path, or a file with an extension). */
function fileArguments(script: string): string[] {
  return script
    .split(/\s+/)
    .slice(1)
    .filter((word) => !word.startsWith("-") && word !== "." && (word.includes("/") || /\.[a-z]+$/.test(word)));
}

for (const [name, script] of Object.entries(packageJson.scripts)) {
  test(`npm script "${name}" runs a command that exists, on files that exist`, () => {
    const command = script.split(/\s+/)[0]!;
    assert.ok(
      command === "node" || existsSync(join(REPO, "node_modules/.bin", command)),
      `"${name}": ${command} is neither node nor in node_modules/.bin`,
    );
    for (const file of fileArguments(script)) {
      assert.ok(existsSync(join(REPO, file)), `"${name}": ${script} names ${file}, which does not exist`);
    }
  });
}

test("the package's bin exists", () => {
  for (const [name, file] of Object.entries(packageJson.bin)) {
    assert.ok(existsSync(join(REPO, file)), `bin ${name}: ${file} does not exist`);
  }
});

test("npm run build writes a bundle that runs", async (t) => {
  const dir = await tempDir(t, "airstrap-npm-build-");
  const outfile = join(dir, "airstrap.cjs");
  const build = await runProcess("npm", ["run", "--silent", "build", "--", "--outfile", outfile], { cwd: REPO });
  assert.equal(build.code, 0, build.stderr);
  const version = await runProcess(process.execPath, [outfile, "--version"]);
  assert.equal(version.code, 0, version.stderr);
  assert.equal(version.stdout.trim(), JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).version);
});
