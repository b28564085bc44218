import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, test } from "node:test";
import { TransientHostError } from "../../src/hosts/host.js";
import { type Sshd, sshdAvailable, startSshd } from "../peers/sshd.js";
import { assertCapped, hostsFixture } from "./fixture.js";

const missing = sshdAvailable();
let sshd: Sshd;
before(async () => {
  if (!missing) sshd = await startSshd();
});
after(async () => {
  await sshd?.stop();
});

/** Established TCP connections from this process's side to the sshd (client ends only). */
function clientConnections(server: Sshd): number {
  const out = execFileSync("ss", ["-Htn", "state", "established", "dst", `${server.address}:${server.port}`], {
    encoding: "utf8",
  });
  return out.split("\n").filter((line) => line.trim() !== "").length;
}

test("exec: exit codes, stdout, stderr and stdin", async (t) => {
  if (missing) return t.skip(missing);
  const f = await hostsFixture(t);
  const host = f.host(sshd);
  assert.deepEqual(await host.exec("echo out; echo err >&2; exit 7"), { code: 7, stdout: "out\n", stderr: "err\n" });
  assert.equal((await host.exec("true")).code, 0);
  const binary = Buffer.from([0, 1, 2, 255, 10, 13]);
  const echoed = await host.exec("od -An -tx1", { stdin: binary });
  assert.equal(echoed.stdout.trim().split(/\s+/).join(" "), "00 01 02 ff 0a 0d");
  assert.equal((await host.exec("wc -c", { stdin: "x".repeat(200_000) })).stdout.trim(), "200000");
  assert.equal((await host.exec("kill -TERM $$")).code, 128 + 15);
});

test("exec: a command past its timeout is killed with its children and reports 124", async (t) => {
  if (missing) return t.skip(missing);
  const f = await hostsFixture(t);
  const host = f.host(sshd);
  const duration = `${30 + (process.pid % 1000) / 1000}`;
  const result = await host.exec(`sleep ${duration}; echo finished`, { timeoutMs: 300 });
  assert.equal(result.code, 124);
  assert.equal(result.stdout, "");
  assert.ok(await gone(`sleep ${duration}`), "the remote sleep was killed");
  // The host is still usable afterwards.
  assert.equal((await host.exec("echo again")).stdout, "again\n");
});

/** Whether no process runs with this command line, checked for up to 3 s (a killed process takes a moment to go). */
async function gone(commandLine: string): Promise<boolean> {
  const { readdirSync, readFileSync } = await import("node:fs");
  for (let i = 0; i < 30; i++) {
    const alive = readdirSync("/proc").some((pid) => {
      if (!/^\d+$/.test(pid)) return false;
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim() === commandLine;
      } catch {
        return false;
      }
    });
    if (!alive) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

test("one TCP connection carries many commands, also concurrent ones beyond sshd's MaxSessions", async (t) => {
  if (missing) return t.skip(missing);
  const f = await hostsFixture(t);
  const host = f.host(sshd);
  const loginsBefore = sshd.logins();
  const outputs = await Promise.all(Array.from({ length: 30 }, (_, i) => host.exec(`echo ${i}`)));
  assert.deepEqual(
    outputs.map((r) => r.stdout.trim()),
    Array.from({ length: 30 }, (_, i) => String(i)),
  );
  for (let i = 0; i < 10; i++) assert.equal((await host.exec("true")).code, 0);
  assert.equal(clientConnections(sshd), 1, "exactly one established connection");
  assert.equal(sshd.logins() - loginsBefore, 1, "sshd saw one login");
});

test("a dropped connection is a TransientHostError and the next call reconnects", async (t) => {
  if (missing) return t.skip(missing);
  const f = await hostsFixture(t);
  const host = f.host(sshd);
  assert.equal((await host.exec("echo up")).code, 0);
  const loginsBefore = sshd.logins();
  const running = host.exec("sleep 20");
  await new Promise((resolve) => setTimeout(resolve, 200));
  for (const pid of sshd.sessionPids()) process.kill(pid, "SIGKILL");
  await assert.rejects(running, (error: unknown) => {
    assert.ok(error instanceof TransientHostError, `got ${error}`);
    assert.equal(error.host, "target");
    return true;
  });
  assert.equal((await host.exec("echo back")).stdout, "back\n");
  assert.equal(sshd.logins() - loginsBefore, 1, "reconnected once");
});

test("close() ends the connection; the host reconnects when used again", async (t) => {
  if (missing) return t.skip(missing);
  const f = await hostsFixture(t);
  const host = f.host(sshd);
  await host.exec("true");
  await host.close();
  assert.equal(clientConnections(sshd), 0);
  assert.equal((await host.exec("echo again")).stdout, "again\n");
});

test("a refused connection is transient; a refused login is the operator's to fix", async (t) => {
  if (missing) return t.skip(missing);
  const f = await hostsFixture(t);
  const closed = f.host({ ...sshd, port: 1 }, { name: "closed-port" });
  await assert.rejects(closed.exec("true"), TransientHostError);
  const { keygen } = await import("../peers/sshd.js");
  const stranger = `${f.dir}/stranger`;
  keygen(stranger, "not-authorized");
  const refused = f.host(sshd, { identityFile: stranger });
  await assert.rejects(refused.exec("true"), (error: Error & { hint?: string }) => {
    assert.equal(error.name, "OperatorError");
    assert.match(error.message, /SSH login as root was refused/);
    assert.match(error.hint ?? "", /identityFile/);
    return true;
  });
});

test("exec: output past the cap keeps its start and its end and marks what was left out", async (t) => {
  if (missing) return t.skip(missing);
  const f = await hostsFixture(t);
  const cap = 2 ** 20;
  const host = f.host(sshd, { maxOutputBytes: cap });
  const result = await host.exec("seq 1 3000000; seq 1 3000000 >&2");
  assertCapped(result.stdout, cap);
  assertCapped(result.stderr, cap);
  assert.equal(f.recorded.filter((e) => e.kind === "host.output.truncated").length, 2);
});
