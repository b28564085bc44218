import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { bufferSource } from "../../src/hosts/upload-source.js";
import { REPO } from "../helpers/cli.js";
import { notOnThisMachine } from "../helpers/skip.js";
import { keygen, type Sshd, sshdAvailable, startSshd } from "../peers/sshd.js";
import { hostsFixture } from "./fixture.js";

/**
 * sudo for real: two throw-away users, one whose sudo asks for a password and one with NOPASSWD,
 * created with useradd and a sudoers file under /etc/sudoers.d, removed afterwards.
 */
const suffix = randomBytes(3).toString("hex");
const withPassword = `airstrap-p${suffix}`;
const noPassword = `airstrap-n${suffix}`;
const sudoPassword = `S3cret-sudo-${randomBytes(6).toString("hex")}`;
const passphrase = `Passphrase-${randomBytes(6).toString("hex")}`;
const sudoersFile = `/etc/sudoers.d/airstrap-test-${suffix}`;

function unavailable(): string | undefined {
  const reason = sshdAvailable();
  if (reason) return reason;
  for (const tool of ["/usr/bin/sudo", "/usr/sbin/useradd", "/usr/sbin/chpasswd"])
    if (!existsSync(tool)) return `${tool} is missing (Debian packages sudo, passwd)`;
  return undefined;
}
const missing = unavailable();
let sshd: Sshd;
let rootOnly: string;
let encryptedKey: string;

before(async () => {
  if (missing) return;
  for (const user of [withPassword, noPassword]) {
    execFileSync("useradd", ["-m", "-s", "/bin/bash", user]);
    // A set password also unlocks the account, which sshd requires for key logins without PAM.
    execFileSync("chpasswd", { input: `${user}:${sudoPassword}\n` });
  }
  await writeFile(sudoersFile, `${withPassword} ALL=(ALL:ALL) ALL\n${noPassword} ALL=(ALL:ALL) NOPASSWD: ALL\n`, {
    mode: 0o440,
  });
  execFileSync("visudo", ["-cf", sudoersFile]);
  sshd = await startSshd();
  encryptedKey = join(sshd.dir, "encrypted_key");
  keygen(encryptedKey, "airstrap-test-encrypted", passphrase);
  sshd.authorize(`${encryptedKey}.pub`);
  rootOnly = join(sshd.dir, "root-only");
  await mkdir(rootOnly, { mode: 0o700 });
  await chmod(rootOnly, 0o700);
});

after(async () => {
  await sshd?.stop();
  if (missing) return;
  execFileSync("rm", ["-f", sudoersFile]);
  for (const user of [withPassword, noPassword]) {
    try {
      execFileSync("userdel", ["-r", "-f", user], { stdio: "pipe" });
    } catch {
      // userdel warns when the mail spool does not exist; the user is gone all the same
    }
  }
});

test("sudo with a password: root commands, stdin intact, root-owned uploads and reads", async (t) => {
  if (missing) return t.skip(missing);
  const f = await hostsFixture(t);
  const host = f.host(sshd, {
    user: withPassword,
    identityFile: encryptedKey,
    env: { AIRSTRAP_SUDO_PASSWORD: sudoPassword, AIRSTRAP_SSH_PASSPHRASE: passphrase },
  });
  const uid = execFileSync("id", ["-u", withPassword], { encoding: "utf8" }).trim();
  assert.equal((await host.exec("id -u")).stdout.trim(), uid);
  assert.equal((await host.exec("id -u", { sudo: true })).stdout.trim(), "0");
  const piped = await host.exec("cat; echo; id -un", { sudo: true, stdin: "payload line 1\nline 2" });
  assert.equal(piped.stdout, "payload line 1\nline 2\nroot\n", "the password never reaches the command's stdin");

  const content = randomBytes(200_000);
  const path = join(rootOnly, "etc/config.yaml");
  const first = await host.upload(bufferSource(content), path, { mode: 0o640, sudo: true });
  assert.deepEqual(first, { skipped: false, bytesSent: content.length });
  assert.deepEqual(await readFile(path), content);
  const info = await stat(path);
  assert.equal(info.mode & 0o7777, 0o640);
  assert.equal(info.uid, 0);
  assert.deepEqual(await host.upload(bufferSource(content), path, { mode: 0o640, sudo: true }), {
    skipped: true,
    bytesSent: 0,
  });
  assert.deepEqual(await readdir(join(rootOnly, "etc")), ["config.yaml"]);
  const staging = `/home/${withPassword}/.cache/airstrap/uploads`;
  assert.deepEqual(await readdir(staging), [], "the staged copy in the user's home is removed");

  // Without sudo the user cannot write there: a clear error, nothing written.
  await assert.rejects(host.upload(bufferSource("x"), join(rootOnly, "denied"), { mode: 0o644 }), {
    name: "OperatorError",
  });
  assert.equal(existsSync(join(rootOnly, "denied")), false);

  await writeFile(join(rootOnly, "secret"), "root only\n", { mode: 0o600 });
  assert.equal((await host.readFile(join(rootOnly, "secret"), { sudo: true }))?.toString(), "root only\n");
  assert.equal(await host.readFile(join(rootOnly, "absent"), { sudo: true }), undefined);
  await assert.rejects(host.readFile(join(rootOnly, "secret")), { name: "OperatorError" });
  const local = join(f.dir, "secret-copy");
  assert.equal((await host.download(join(rootOnly, "secret"), local, { sudo: true })).bytes, 10);
  assert.equal(await readFile(local, "utf8"), "root only\n");
});

test("sudo with NOPASSWD: a configured password is not used, stdin stays the command's", async (t) => {
  if (missing) return t.skip(missing);
  const f = await hostsFixture(t);
  let asked = 0;
  const host = f.host(sshd, {
    user: noPassword,
    sudoPassword: async () => {
      asked++;
      return sudoPassword;
    },
  });
  assert.equal((await host.exec("cat", { sudo: true, stdin: "only this" })).stdout, "only this");
  assert.equal((await host.exec("id -u", { sudo: true })).stdout.trim(), "0");
  assert.equal(asked, 0, "no password was asked for");
});

test("sudo problems are reported clearly: no password, wrong password, sudo disabled", async (t) => {
  if (missing) return t.skip(missing);
  const f = await hostsFixture(t);
  const none = f.host(sshd, { user: withPassword, name: "no-password" });
  await assert.rejects(none.exec("true", { sudo: true }), (error: Error & { hint?: string }) => {
    assert.equal(error.name, "OperatorError");
    assert.match(error.message, /sudo asks user .* for a password and none was given/);
    assert.match(error.hint ?? "", /AIRSTRAP_SUDO_PASSWORD/);
    return true;
  });
  const wrong = f.host(sshd, { user: withPassword, name: "wrong-password", sudoPassword: async () => "not-it" });
  await assert.rejects(wrong.exec("true", { sudo: true }), /sudo rejected the password/);
  // spec.ssh.sudo: false — commands run as the user even when they ask for root.
  const off = f.host(sshd, { user: noPassword, sudo: false });
  assert.notEqual((await off.exec("id -u", { sudo: true })).stdout.trim(), "0");
});

test("the sudo password and the key passphrase appear in no event and no error", async (t) => {
  if (missing) return t.skip(missing);
  const f = await hostsFixture(t);
  const errors: unknown[] = [];
  const attempt = async (work: () => Promise<unknown>) => {
    try {
      await work();
    } catch (error) {
      errors.push(error);
    }
  };
  const good = f.host(sshd, {
    user: withPassword,
    name: "good",
    identityFile: encryptedKey,
    env: { AIRSTRAP_SUDO_PASSWORD: sudoPassword, AIRSTRAP_SSH_PASSPHRASE: passphrase },
  });
  await attempt(() => good.exec("false", { sudo: true }));
  await attempt(() => good.upload(bufferSource("data"), join(rootOnly, "s/file"), { mode: 0o600, sudo: true }));
  await attempt(() =>
    good.upload({ ...bufferSource("data"), sha256: "1".repeat(64) }, join(rootOnly, "s/bad"), {
      mode: 0o600,
      sudo: true,
    }),
  );
  await attempt(() => good.readFile(join(rootOnly, "s"), { sudo: true }));
  const wrongPassword = f.host(sshd, {
    user: withPassword,
    name: "wrong",
    identityFile: encryptedKey,
    env: { AIRSTRAP_SUDO_PASSWORD: `${sudoPassword}x`, AIRSTRAP_SSH_PASSPHRASE: passphrase },
  });
  await attempt(() => wrongPassword.exec("true", { sudo: true }));
  const wrongPassphrase = f.host(sshd, {
    user: withPassword,
    name: "wrong-passphrase",
    identityFile: encryptedKey,
    env: { AIRSTRAP_SSH_PASSPHRASE: `${passphrase}x` },
  });
  await attempt(() => wrongPassphrase.exec("true"));
  const noPassphrase = f.host(sshd, { user: withPassword, name: "no-passphrase", identityFile: encryptedKey, env: {} });
  await attempt(() => noPassphrase.exec("true"));

  assert.equal(errors.length, 5, `expected five failures, got: ${errors.map(String).join(" | ")}`);
  assert.match(String(errors.at(-1)), /protected by a passphrase/);
  assert.match(String(errors.at(-2)), /passphrase does not open it/);
  const everything = [
    ...f.recorded.map((event) => JSON.stringify(event)),
    ...errors.map((error) => {
      const e = error as Error & { hint?: string; cause?: unknown };
      return [e.message, e.hint, e.stack, String(e.cause), JSON.stringify(e)].join("\n");
    }),
    (await f.state.read("known_hosts")) ?? "",
  ].join("\n");
  assert.ok(f.recorded.length > 0 && everything.length > 0);
  for (const secret of [sudoPassword, passphrase]) assert.equal(everything.includes(secret), false, "a secret leaked");
});

test("an SSH agent (SSH_AUTH_SOCK) logs in without an identity file", async (t) => {
  if (missing) return t.skip(missing);
  const f = await hostsFixture(t);
  const socket = join(f.dir, "agent.sock");
  const agent = execFileSync("ssh-agent", ["-a", socket, "-s"], { encoding: "utf8" });
  const pid = Number(agent.match(/SSH_AGENT_PID=(\d+)/)?.[1]);
  t.after(() => process.kill(pid, "SIGTERM"));
  execFileSync("ssh-add", [sshd.clientKey], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: "pipe" });
  const host = f.host(sshd, { identityFile: undefined, env: { SSH_AUTH_SOCK: socket } });
  assert.equal((await host.exec("echo via-agent")).stdout, "via-agent\n");
});

test("the local transport uses sudo (with a password) when airstrap does not run as root", async (t) => {
  if (missing) return t.skip(missing);
  const probe = spawnSync("runuser", ["-u", withPassword, "--", "test", "-r", join(REPO, "src/hosts/local-host.ts")]);
  if (probe.status !== 0)
    return t.skip(notOnThisMachine(`user ${withPassword} cannot read the source tree at ${REPO}`));
  const target = join(rootOnly, "local/file");
  const script = `
    import { localHost } from ${JSON.stringify(join(REPO, "src/hosts/local-host.ts"))};
    import { bufferSource } from ${JSON.stringify(join(REPO, "src/hosts/upload-source.ts"))};
    const host = localHost();
    const plain = (await host.exec("id -u")).stdout.trim();
    const root = (await host.exec("id -u", { sudo: true })).stdout.trim();
    const piped = (await host.exec("cat", { sudo: true, stdin: "in" })).stdout;
    const up = await host.upload(bufferSource("local root file\\n"), ${JSON.stringify(target)}, { mode: 0o600, sudo: true });
    const again = await host.upload(bufferSource("local root file\\n"), ${JSON.stringify(target)}, { mode: 0o600, sudo: true });
    const read = (await host.readFile(${JSON.stringify(target)}, { sudo: true }))?.toString();
    console.log(JSON.stringify({ plain, root, piped, up, again, read }));
  `;
  const result = spawnSync(
    "runuser",
    ["-u", withPassword, "--", process.execPath, "--import", "tsx", "--input-type=module", "-e", script],
    {
      cwd: REPO,
      encoding: "utf8",
      env: { PATH: process.env.PATH, HOME: `/home/${withPassword}`, AIRSTRAP_SUDO_PASSWORD: sudoPassword },
      timeout: 60_000,
    },
  );
  assert.equal(result.status, 0, result.stderr);
  const outcome = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
  assert.notEqual(outcome.plain, "0");
  assert.equal(outcome.root, "0");
  assert.equal(outcome.piped, "in");
  assert.deepEqual(outcome.up, { skipped: false, bytesSent: 16 });
  assert.deepEqual(outcome.again, { skipped: true, bytesSent: 0 });
  assert.equal(outcome.read, "local root file\n");
  const info = await stat(target);
  assert.equal(info.uid, 0);
  assert.equal(info.mode & 0o7777, 0o600);
  assert.equal(result.stdout.includes(sudoPassword) || result.stderr.includes(sudoPassword), false);
});
