import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import bcrypt from "bcryptjs";
import { silentEvents } from "../../../src/events.js";
import { cgiHeaders, initRepo } from "../../../src/services/git/backend.js";
import { startGit } from "../../../src/services/git/service.js";
import { runProcess, tempDir } from "../../helpers/cli.js";
import { gitClientEnv } from "../../peers/git-client.js";

const PASSWORD = "push-secret-2";
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

async function serve(t: Parameters<typeof tempDir>[0]) {
  const dir = await tempDir(t);
  const root = join(dir, "repos");
  const service = await startGit(
    {
      listen: [{ address: "127.0.0.1", port: 0 }],
      root,
      users: new Map([["operator", bcrypt.hashSync(PASSWORD, 4)]]),
      readTokens: ["read-token"],
      git: "git",
    },
    silentEvents,
  );
  t.after(() => service.close());
  return { dir, root, base: `http://${service.addresses[0]}` };
}

/** What `git http-backend` itself answers to a body, run as a CGI program. */
async function httpBackendAnswer(root: string, repo: string, body: string) {
  const answer = await runProcess("sh", ["-c", `printf '%s' "$BODY" | git http-backend`], {
    env: {
      PATH: process.env.PATH,
      BODY: body,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: "1",
      PATH_INFO: `/${repo}/git-receive-pack`,
      REQUEST_METHOD: "POST",
      CONTENT_TYPE: "application/x-git-receive-pack-request",
      CONTENT_LENGTH: String(body.length),
      REMOTE_USER: "operator",
    },
  });
  const end = answer.stdout.indexOf("\r\n\r\n");
  return { ...cgiHeaders(answer.stdout.slice(0, end)), body: answer.stdout.slice(end + 4) };
}

test("the push probe (a lone flush packet) gets what git http-backend answers, once the credentials hold", async (t) => {
  const { root, base } = await serve(t);
  await initRepo("git", root, "site.git");
  const expected = await httpBackendAnswer(root, "site.git", "0000");
  assert.equal(expected.status, 200);
  const post = (authorization?: string) =>
    fetch(`${base}/site.git/git-receive-pack`, {
      method: "POST",
      body: "0000",
      headers: {
        "content-type": "application/x-git-receive-pack-request",
        ...(authorization ? { authorization } : {}),
      },
    });
  const answer = await post(basic("operator", PASSWORD));
  assert.equal(answer.status, expected.status);
  assert.equal(await answer.text(), expected.body);
  for (const [name, value] of Object.entries(expected.headers)) assert.equal(answer.headers.get(name), value, name);
  assert.equal((await post()).status, 401, "no credentials, no probe answer");
  assert.equal((await post(basic("flux", "read-token"))).status, 403, "a read token may not push");
});

test("a push larger than git's post buffer probes first, then streams: the real client succeeds and the repository is whole", async (t) => {
  const { dir, root, base } = await serve(t);
  const work = join(dir, "work");
  await mkdir(work);
  const env = { ...gitClientEnv(dir), GIT_TRACE_CURL: "1", GIT_TRACE_CURL_NO_DATA: "1" };
  const git = (args: string[]) => runProcess("git", args, { cwd: work, env });
  assert.equal((await git(["init", "-q", "-b", "main"])).code, 0);
  for (let i = 0; i < 20; i++) await writeFile(join(work, `blob-${i}.bin`), randomBytes(200_000));
  assert.equal((await git(["add", "-A"])).code, 0);
  assert.equal((await git(["commit", "-q", "-m", "4 MB"])).code, 0);
  const pushed = await git(["push", base.replace("http://", `http://operator:${PASSWORD}@`) + "/site.git", "main"]);
  assert.equal(pushed.code, 0, pushed.stderr);
  // The trace shows the probe (Content-Length: 4) answered 200, then the chunked pack.
  const requests = pushed.stderr
    .split("\n")
    .filter((line) => /Send header: (POST|Content-Length|Transfer-Encoding)|Recv header: HTTP\//.test(line))
    .map((line) => line.replace(/^.*(Send|Recv) header: /, ""));
  const probe = requests.indexOf("Content-Length: 4");
  assert.ok(probe > 0 && requests[probe - 1]?.startsWith("POST "), requests.join("\n"));
  assert.match(requests[probe + 1] ?? "", /^HTTP\/1\.1 200/);
  assert.ok(requests.slice(probe + 2).includes("Transfer-Encoding: chunked"), requests.join("\n"));
  const fsck = await runProcess("git", ["--git-dir", join(root, "site.git"), "fsck", "--full", "--strict"]);
  assert.equal(fsck.code, 0, fsck.stderr);
  const head = await runProcess("git", ["--git-dir", join(root, "site.git"), "rev-parse", "main"]);
  assert.equal(head.stdout.trim(), (await git(["rev-parse", "HEAD"])).stdout.trim());
});
