import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import bcrypt from "bcryptjs";
import { silentEvents } from "../../../src/events.js";
import type { GitConfig } from "../../../src/services/git/config.js";
import { startGit } from "../../../src/services/git/service.js";
import { REPO, runProcess, tempDir } from "../../helpers/cli.js";
import { gitClientEnv } from "../../peers/git-client.js";

const PASSWORD = "push-secret-1";
const TOKEN = "read-token-for-the-cluster";

/** The real git client, run asynchronously: the server under test answers in this same process. */
async function git(cwd: string, args: string[], home: string) {
  const run = await runProcess("git", args, {
    cwd,
    env: gitClientEnv(home),
  });
  return { code: run.code, out: `${run.stdout}${run.stderr}` };
}

async function site(t: Parameters<typeof tempDir>[0], extra: Partial<GitConfig> = {}) {
  const dir = await tempDir(t);
  const root = join(dir, "repos");
  const config: GitConfig = {
    listen: [{ address: "127.0.0.1", port: 0 }],
    root,
    users: new Map([["operator", bcrypt.hashSync(PASSWORD, 4)]]),
    readTokens: [TOKEN],
    git: "git",
    ...extra,
  };
  const service = await startGit(config, silentEvents);
  t.after(() => service.close());
  const base = `http://${service.addresses[0]}`;
  const work = join(dir, "work");
  await mkdir(work);
  await git(work, ["init", "-q", "-b", "main"], dir);
  return { dir, root, base, work, service };
}

async function commit(work: string, home: string, files: Record<string, string>, message: string) {
  for (const [name, content] of Object.entries(files)) await writeFile(join(work, name), content);
  assert.equal((await git(work, ["add", "-A"], home)).code, 0);
  assert.equal((await git(work, ["commit", "-q", "-m", message], home)).code, 0);
}

test("the real git client pushes with auth (creating the repository), clones and fetches shallow with a read token", async (t) => {
  const { dir, base, work, root } = await site(t);
  await commit(work, dir, { "a.yaml": "kind: Namespace\n" }, "one");
  await commit(work, dir, { "b.yaml": "kind: ConfigMap\n" }, "two");
  const pushUrl = base.replace("http://", `http://operator:${PASSWORD}@`);
  const pushed = await git(work, ["push", "-q", `${pushUrl}/site.git`, "main"], dir);
  assert.equal(pushed.code, 0, pushed.out);
  assert.deepEqual(await readdir(root), ["site.git"]);

  const readUrl = base.replace("http://", `http://flux:${TOKEN}@`);
  const full = await git(dir, ["clone", "-q", `${readUrl}/site.git`, "full"], dir);
  assert.equal(full.code, 0, full.out);
  assert.equal((await git(join(dir, "full"), ["rev-list", "--count", "HEAD"], dir)).out.trim(), "2");

  // As Flux's source-controller does: a depth-1 fetch of one branch.
  const shallow = await git(
    dir,
    ["clone", "-q", "--depth", "1", "--branch", "main", `${readUrl}/site.git`, "shallow"],
    dir,
  );
  assert.equal(shallow.code, 0, shallow.out);
  assert.equal((await git(join(dir, "shallow"), ["rev-list", "--count", "HEAD"], dir)).out.trim(), "1");
  assert.equal((await git(join(dir, "shallow"), ["rev-parse", "--is-shallow-repository"], dir)).out.trim(), "true");
  await commit(work, dir, { "c.yaml": "kind: Secret\n" }, "three");
  assert.equal((await git(work, ["push", "-q", `${pushUrl}/site.git`, "main"], dir)).code, 0);
  const fetched = await git(join(dir, "shallow"), ["fetch", "-q", "--depth", "1", "origin", "main"], dir);
  assert.equal(fetched.code, 0, fetched.out);
  assert.equal(
    (await git(join(dir, "shallow"), ["rev-parse", "FETCH_HEAD"], dir)).out.trim(),
    (await git(work, ["rev-parse", "HEAD"], dir)).out.trim(),
  );
});

test("pushes without credentials, with a wrong password or with a read token are refused; reads need a token", async (t) => {
  const { dir, base, work, root } = await site(t);
  await commit(work, dir, { "a.yaml": "x: 1\n" }, "one");
  const anonymous = await git(work, ["push", `${base}/site.git`, "main"], dir);
  assert.notEqual(anonymous.code, 0);
  assert.match(anonymous.out, /Authentication failed|could not read Username|401/);
  const wrong = await git(work, ["push", `${base.replace("http://", "http://operator:nope@")}/site.git`, "main"], dir);
  assert.notEqual(wrong.code, 0);
  const token = await git(work, ["push", `${base.replace("http://", `http://flux:${TOKEN}@`)}/site.git`, "main"], dir);
  assert.notEqual(token.code, 0);
  assert.match(token.out, /403/);
  assert.deepEqual(await readdir(root).catch(() => []), [], "no repository was created by a refused push");
  assert.equal(
    (
      await git(
        work,
        ["push", "-q", `${base.replace("http://", `http://operator:${PASSWORD}@`)}/site.git`, "main"],
        dir,
      )
    ).code,
    0,
  );
  const anonymousClone = await git(dir, ["clone", `${base}/site.git`, "anon"], dir);
  assert.notEqual(anonymousClone.code, 0);
  const missing = await fetch(`${base}/nothing.git/info/refs?service=git-upload-pack`, {
    headers: { authorization: `Basic ${Buffer.from(`flux:${TOKEN}`).toString("base64")}` },
  });
  assert.equal(missing.status, 404);
  const dumb = await fetch(`${base}/site.git/HEAD`, {
    headers: { authorization: `Basic ${Buffer.from(`flux:${TOKEN}`).toString("base64")}` },
  });
  assert.equal(dumb.status, 404, "the dumb protocol and file browsing are not served");
});

test("every push that changes refs calls the Flux Receiver with a generic-hmac signature", async (t) => {
  const calls: Array<{ headers: IncomingMessage["headers"]; body: string }> = [];
  const receiver = createServer((request, response) => {
    let body = "";
    request.on("data", (c) => {
      body += c;
    });
    request.on("end", () => {
      calls.push({ headers: request.headers, body });
      response.end("ok");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook/abc`;
  const { dir, base, work } = await site(t, { webhook: { url, token: "receiver-token" } });
  await commit(work, dir, { "a.yaml": "x: 1\n" }, "one");
  const pushUrl = `${base.replace("http://", `http://operator:${PASSWORD}@`)}/site.git`;
  assert.equal((await git(work, ["push", "-q", pushUrl, "main"], dir)).code, 0);
  assert.equal((await git(work, ["push", "-q", pushUrl, "main"], dir)).code, 0, "a push that changes nothing");
  assert.equal(calls.length, 1);
  const expected = `sha256=${createHmac("sha256", "receiver-token").update(calls[0]!.body).digest("hex")}`;
  assert.equal(calls[0]!.headers["x-signature"], expected);
  const event = JSON.parse(calls[0]!.body);
  assert.equal(event.repository, "site.git");
  assert.deepEqual(
    event.refs.map((r: { ref: string }) => r.ref),
    ["refs/heads/main"],
  );
});

test("a server killed during an atomic push leaves a valid repository with both refs or neither", async (t) => {
  const dir = await tempDir(t);
  const root = join(dir, "repos");
  const htpasswd = join(dir, "htpasswd");
  await writeFile(htpasswd, `operator:${bcrypt.hashSync(PASSWORD, 4)}\n`);
  const port = 20000 + Math.floor(Math.random() * 20000);
  const start = () => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(REPO, "src/cli/main.ts"),
        "git",
        "serve",
        "--root",
        root,
        "--listen",
        `127.0.0.1:${port}`,
        "--htpasswd",
        htpasswd,
      ],
      { cwd: REPO, detached: true, stdio: ["ignore", "ignore", "pipe"] },
    );
    return new Promise<typeof child>((resolve, reject) => {
      child.stderr.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("git server listening")) resolve(child);
      });
      child.on("exit", (code) => reject(new Error(`git serve exited ${code}`)));
    });
  };
  const killGroup = (child: { pid?: number }) => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {}
  };
  const server = await start();
  t.after(() => killGroup(server));
  const work = join(dir, "work");
  await mkdir(work);
  await git(work, ["init", "-q", "-b", "main"], dir);
  await commit(work, dir, { "small.yaml": "x: 1\n" }, "base");
  const pushUrl = `http://operator:${PASSWORD}@127.0.0.1:${port}/site.git`;
  assert.equal((await git(work, ["push", "-q", pushUrl, "main"], dir)).code, 0);
  const baseCommit = (await git(work, ["rev-parse", "HEAD"], dir)).out.trim();
  // Enough incompressible data that the push is still streaming when the server dies.
  await commit(work, dir, { "big.bin": randomBytes(48 * 1024 * 1024).toString("base64") }, "big");
  await git(work, ["branch", "second"], dir);
  const pushing = spawn("git", ["push", "--atomic", pushUrl, "main", "second"], {
    cwd: work,
    env: { PATH: process.env.PATH, HOME: dir, GIT_TERMINAL_PROMPT: "0", GIT_CONFIG_NOSYSTEM: "1" },
    stdio: "ignore",
  });
  const pushDone = new Promise((resolve) => pushing.on("exit", resolve));
  // Kill once receive-pack has started writing the pushed objects (its quarantine folder exists).
  const objects = join(root, "site.git", "objects");
  for (let i = 0; i < 600; i++) {
    if ((await readdir(objects)).some((n) => n.startsWith("tmp_objdir-incoming"))) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  killGroup(server);
  await pushDone;
  const fsck = spawnSync("git", ["--git-dir", join(root, "site.git"), "fsck", "--full", "--strict"], {
    encoding: "utf8",
  });
  assert.equal(fsck.status, 0, fsck.stderr);
  const refs = spawnSync(
    "git",
    ["--git-dir", join(root, "site.git"), "for-each-ref", "--format=%(refname) %(objectname)"],
    {
      encoding: "utf8",
    },
  ).stdout;
  const head = (await git(work, ["rev-parse", "HEAD"], dir)).out.trim();
  const all = `refs/heads/main ${head}\nrefs/heads/second ${head}\n`;
  const none = `refs/heads/main ${baseCommit}\n`;
  assert.ok(refs === all || refs === none, `refs are half-updated:\n${refs}`);

  // Restarted, the same push completes.
  const again = await start();
  t.after(() => killGroup(again));
  const retried = await git(work, ["push", "-q", "--atomic", pushUrl, "main", "second"], dir);
  assert.equal(retried.code, 0, retried.out);
  killGroup(again);
});
