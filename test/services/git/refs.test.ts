import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { appendFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { parsePackedRefs, readRefFiles, resolveRefs } from "../../../src/services/git/refs.js";
import { tempDir } from "../../helpers/cli.js";
import { gitClientEnv } from "../../peers/git-client.js";

const run = promisify(execFile);

/** What the real git lists: the reference the file reader must equal. */
async function forEachRef(gitDir: string): Promise<Map<string, string>> {
  const { stdout } = await run("git", ["--git-dir", gitDir, "for-each-ref", "--format=%(refname) %(objectname)"]);
  return new Map(
    stdout
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((line) => line.split(" ") as [string, string]),
  );
}

test("the refs read from the files are what git for-each-ref lists: loose, packed, both, peeled tags, symbolic, nested", async (t) => {
  const dir = await tempDir(t, "airstrap-git-refs-");
  const env = gitClientEnv(dir);
  const git = (...args: string[]) => run("git", args, { cwd: join(dir, "work"), env }).then((r) => r.stdout.trim());
  await run("git", ["init", "-q", "-b", "main", join(dir, "work")], { env });
  const bare = join(dir, "bare.git");
  await run("git", ["init", "-q", "--bare", "-b", "main", bare], { env });
  assert.deepEqual(await readRefFiles(bare), new Map(), "an empty repository has no refs");

  await writeFile(join(dir, "work", "a"), "1");
  await git("add", "a");
  await git("commit", "-qm", "one");
  await git("tag", "-a", "-m", "annotated", "v1");
  await git("tag", "light");
  await git("branch", "feature/deep/x");
  await git("push", "-q", bare, "--all");
  await git("push", "-q", bare, "--tags");
  await run("git", ["--git-dir", bare, "pack-refs", "--all"]);
  await writeFile(join(dir, "work", "a"), "2");
  await git("commit", "-qam", "two");
  // main is now both packed (old) and loose (new): the loose one wins.
  await git("push", "-q", bare, "main", "main:refs/heads/after-pack");
  await run("git", ["--git-dir", bare, "symbolic-ref", "refs/heads/alias", "refs/heads/feature/deep/x"]);
  await writeFile(join(bare, "refs", "heads", "half-written.lock"), "0".repeat(40));

  const expected = await forEachRef(bare);
  assert.ok(expected.size >= 6, [...expected.keys()].join(" "));
  assert.deepEqual(await readRefFiles(bare), expected);
  assert.match(
    await run("git", ["--git-dir", bare, "cat-file", "-t", expected.get("refs/tags/v1")!]).then((r) => r.stdout),
    /tag/,
  );
});

test("packed-refs: the header and peeled lines are not refs; a broken or looping symbolic ref is left out", () => {
  const a = "a".repeat(40);
  const b = "b".repeat(40);
  const packed = parsePackedRefs(
    `# pack-refs with: peeled fully-peeled sorted \n${a} refs/tags/v1\n^${b}\n${b} refs/heads/main\n`,
  );
  assert.deepEqual(
    [...packed],
    [
      ["refs/tags/v1", a],
      ["refs/heads/main", b],
    ],
  );
  const loose = new Map([
    ["refs/heads/gone", "ref: refs/heads/nowhere"],
    ["refs/heads/loop1", "ref: refs/heads/loop2"],
    ["refs/heads/loop2", "ref: refs/heads/loop1"],
    ["refs/heads/garbage", "not an object"],
  ]);
  assert.deepEqual(
    [...resolveRefs(packed, loose)],
    [
      ["refs/heads/main", b],
      ["refs/tags/v1", a],
    ],
  );
});

test("a repository that keeps its refs in a reftable is left to git", async (t) => {
  const dir = await tempDir(t, "airstrap-git-refs-");
  const bare = join(dir, "bare.git");
  await run("git", ["init", "-q", "--bare", bare]);
  await appendFile(join(bare, "config"), "[extensions]\n\trefStorage = reftable\n");
  assert.equal(await readRefFiles(bare), undefined);
});
