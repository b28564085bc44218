import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { createEvents } from "../../src/events.js";
import { REDACTED, redact, registerSecret } from "../../src/secrets.js";
import { type CliResult, REPO, runAirstrap, tempDir } from "../helpers/cli.js";
import { soloSiteManifest, storeWithRelease } from "../helpers/solo-site.js";
import { sshdAvailable, startSshd } from "../peers/sshd.js";

const TSX = import.meta.resolve("tsx");

/** A secret with the characters JSON escapes, so redaction after escaping would miss it. */
const secret = (label: string) => `${label}"q\\b-${randomBytes(8).toString("hex")}`;

test("an event's message and detail are redacted before any view or log escapes them", () => {
  const value = secret("unit");
  registerSecret(value);
  const events = createEvents();
  const lines: string[] = [];
  events.subscribe((e) => lines.push(JSON.stringify(e)));
  events.emit({
    level: "info",
    kind: "t",
    message: `said ${value}`,
    detail: { nested: [{ text: `x${value}x` }], n: 1 },
  });
  assert.ok(!lines[0]!.includes("unit"), lines[0]);
  assert.equal(JSON.parse(lines[0]!).detail.nested[0].text, `x${REDACTED}x`);
  // Text escaped elsewhere before it got here is caught too.
  assert.equal(redact(JSON.stringify({ v: value })), `{"v":"${REDACTED}"}`);
});

/** Every file under `dir`, with its path, except those named in `except`. */
async function filesUnder(dir: string, except: Set<string>): Promise<Array<{ path: string; text: string }>> {
  const found: Array<{ path: string; text: string }> = [];
  for (const entry of await readdir(dir, { recursive: true })) {
    const path = join(dir, entry);
    if (except.has(path) || !(await stat(path)).isFile()) continue;
    found.push({ path, text: await readFile(path, "latin1") });
  }
  return found;
}

test("install (JSON and plain), and kubeconfig: no secret in any output, log or state file", async (t) => {
  const missing = sshdAvailable();
  if (missing) return t.skip(missing);
  const sshd = await startSshd({ address: "127.0.0.1" });
  t.after(() => sshd.stop());
  const dir = await tempDir(t);
  const token = secret("join");
  const pushToken = secret("push");
  const sudoPassword = secret("sudo");
  const passphrase = secret("phrase");
  const state = join(dir, ".airstrap");
  await mkdir(join(state, "registry"), { recursive: true, mode: 0o700 });
  await writeFile(join(state, "token"), `${token}\n`, { mode: 0o600 });
  await writeFile(join(state, "registry/push-token"), `${pushToken}\n`, { mode: 0o600 });
  // An identity file that is no key, whose name holds every secret: each command reports it, in its
  // events, its logs, its summary or its error — the way a secret that slipped into a message would travel.
  const identity = join(dir, `id-${token}-${pushToken}-${sudoPassword}-${passphrase}`);
  await writeFile(identity, "not a key\n", { mode: 0o600 });
  await writeFile(join(dir, "cluster.yaml"), soloSiteManifest(sshd.port, identity));
  await storeWithRelease(join(dir, "store"));
  await writeFile(join(dir, "node-binary"), "#!/bin/sh\n");
  const env = { AIRSTRAP_SUDO_PASSWORD: sudoPassword, AIRSTRAP_SSH_PASSPHRASE: passphrase };
  const install = ["install", "--dry-run", "--store", join(dir, "store"), "--node-binary", join(dir, "node-binary")];
  const runs: Array<[string, CliResult]> = [
    ["install --output json", await runAirstrap([...install, "--output", "json"], { cwd: dir, env })],
    ["install", await runAirstrap(install, { cwd: dir, env })],
    ["kubeconfig", await runAirstrap(["kubeconfig"], { cwd: dir, env })],
  ];
  for (const [name, result] of runs) {
    assert.notEqual(result.code, 0, `${name} was meant to fail on the identity file`);
    assert.match(
      result.stdout + result.stderr,
      /cannot use SSH identity file .*id-\[redacted\]-\[redacted\]-\[redacted\]-\[redacted\]/,
      `${name}:\n${result.stdout}\n${result.stderr}`,
    );
  }
  const outputs = [
    ...runs.flatMap(([name, r]) => [
      { path: `${name}: stdout`, text: r.stdout },
      { path: `${name}: stderr`, text: r.stderr },
    ]),
    ...(await filesUnder(state, new Set([join(state, "token"), join(state, "registry/push-token")]))),
  ];
  assert.ok(
    outputs.some((o) => o.path.includes("/logs/")),
    "the runs wrote logs",
  );
  for (const value of [token, pushToken, sudoPassword, passphrase])
    for (const form of [value, JSON.stringify(value).slice(1, -1)])
      for (const output of outputs) assert.ok(!output.text.includes(form), `${output.path} holds a secret`);
});

test("registry serve with a push token: neither its output nor its state holds the token", async (t) => {
  const dir = await tempDir(t);
  const state = join(dir, "state");
  const port = 20000 + (process.pid % 10000);
  const child = spawn(
    process.execPath,
    ["--import", TSX, join(REPO, "src/cli/main.ts"), "registry", "serve", "--root", join(dir, "store")].concat([
      "--state-dir",
      state,
      "--listen",
      `127.0.0.1:${port}`,
    ]),
    { env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  t.after(() => child.kill("SIGKILL"));
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  const listening = new Promise<void>((resolve, reject) => {
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
      // The CA line is written after the listening line, in a write of its own: wait for both.
      if (stderr.includes("registry listening on") && /clients trust the site CA \S+\n/.test(stderr)) resolve();
    });
    child.on("close", () => reject(new Error(`registry serve ended early:\n${stderr}`)));
  });
  await listening;
  const token = (await readFile(join(state, "registry/push-token"), "utf8")).trim();
  const ca = stderr.match(/clients trust the site CA (\S+)/)?.[1];
  assert.ok(ca, stderr);
  // curl, as an operator pushing with the token would.
  const upload = (authorization: string) =>
    execFileSync(
      "curl",
      [
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--cacert",
        ca,
        "-X",
        "POST",
        "-H",
        `Authorization: ${authorization}`,
      ].concat([`https://127.0.0.1:${port}/v2/demo/blobs/uploads/`]),
      { encoding: "utf8" },
    );
  assert.equal(upload(`Bearer ${token}`), "202", "the token is accepted");
  assert.equal(upload(`Bearer wrong-${token}`), "401");
  assert.equal(upload(`Basic ${Buffer.from(`ci:${token}`).toString("base64")}`), "202");
  const closed = new Promise((resolve) => child.on("close", resolve));
  child.kill("SIGTERM");
  await closed;
  const outputs = [
    { path: "stdout", text: stdout },
    { path: "stderr", text: stderr },
    ...(await filesUnder(state, new Set([join(state, "registry/push-token")]))),
  ];
  for (const output of outputs) assert.ok(!output.text.includes(token), `${output.path} holds the push token`);
});
