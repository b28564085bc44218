import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { REPO, tempDir } from "../helpers/cli.js";
import { siteManifest } from "../helpers/site-manifest.js";

const run = promisify(execFile);
const basic = (user: string, password: string) =>
  `http.extraHeader=Authorization: Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

test("git serve -f serves the site repository with the state dir's push user and read token", async (t) => {
  const dir = await tempDir(t);
  const port = 20000 + ((process.pid * 17) % 20000);
  await mkdir(join(dir, "stages", "base"), { recursive: true });
  await writeFile(join(dir, "stages", "base", "ns.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n");
  const manifest = join(dir, "cluster.yaml");
  await writeFile(
    manifest,
    stringify(
      siteManifest({
        hosts: [{ name: "s1", address: "127.0.0.1", role: "server" }],
        stages: [{ name: "base", path: "stages/base" }],
        gitops: { url: `http://127.0.0.1:${port}/site.git` },
      }),
    ),
  );
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(REPO, "src/cli/main.ts"), "git", "serve", "-f", manifest],
    {
      cwd: REPO,
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  t.after(() => child.kill());
  await new Promise<void>((resolve, reject) => {
    let text = "";
    child.stderr.on("data", (chunk: Buffer) => {
      text += chunk;
      if (text.includes("git server listening")) resolve();
    });
    child.on("exit", (code) => reject(new Error(`git serve exited ${code}: ${text}`)));
  });
  const state = join(dir, ".airstrap", "git");
  const password = (await readFile(join(state, "push-password"), "utf8")).trim();
  const token = (await readFile(join(state, "read-token"), "utf8")).trim();
  const url = `http://127.0.0.1:${port}/site.git`;
  const work = join(dir, "work");
  await mkdir(work);
  const git = (args: string[], cwd = work) =>
    run("git", args, { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: "0", HOME: dir } });
  await git(["init", "-q", "-b", "main"]);
  await writeFile(join(work, "a.txt"), "a\n");
  await git(["add", "a.txt"]);
  await git(["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "a"]);
  await assert.rejects(git(["-c", basic("flux", token), "push", "-q", url, "main"]), "the read token cannot push");
  await git(["-c", basic("airstrap", password), "push", "-q", url, "main"]);
  await git(["-c", basic("flux", token), "clone", "-q", url, join(dir, "clone")], dir);
  assert.equal(await readFile(join(dir, "clone", "a.txt"), "utf8"), "a\n");
  assert.equal(
    (await git(["--git-dir", join(state, "repositories", "site.git"), "rev-parse", "main"])).stdout.length,
    41,
  );
});
