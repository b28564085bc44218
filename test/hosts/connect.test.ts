import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Command } from "commander";
import { registerHosts } from "../../src/cli/hosts.js";
import type { UsageError } from "../../src/errors.js";
import { hostsFromPlan } from "../../src/hosts/connect.js";
import { pinnedMachines } from "../../src/hosts/pins.js";
import { loadManifest } from "../../src/manifest/load.js";
import { planCluster } from "../../src/plan/plan.js";
import { type Sshd, sshdAvailable, startSshd } from "../peers/sshd.js";
import { assertCapped, hostsFixture } from "./fixture.js";

const missing = sshdAvailable();
let direct: Sshd;
let hidden: Sshd;
let bastion: Sshd;
before(async () => {
  if (missing) return;
  direct = await startSshd();
  // Only reachable through the bastion, which may open tunnels to it and nowhere else.
  hidden = await startSshd({ address: "127.0.0.2", clientKey: direct.clientKey });
  bastion = await startSshd({
    clientKey: direct.clientKey,
    config: ["AllowTcpForwarding yes", `PermitOpen ${hidden.address}:${hidden.port}`],
  });
});
after(async () => {
  await Promise.all([direct?.stop(), hidden?.stop(), bastion?.stop()]);
});

/** A manifest whose hosts are the test's sshds; the identity file path is relative to the manifest. */
async function writeManifest(dir: string): Promise<string> {
  await copyFile(direct.clientKey, join(dir, "id_test"));
  const file = join(dir, "cluster.yaml");
  await writeFile(
    file,
    `apiVersion: airstrap.io/v1alpha1
kind: Cluster
metadata: { name: edge }
spec:
  domain: edge.lan
  distro: { name: k3s, version: v1.31.4+k3s1 }
  ssh: { user: root, identityFile: id_test }
  hosts:
    - { name: server-01, address: ${direct.address}, role: server, ssh: { port: ${direct.port} } }
    - name: agent-01
      address: ${hidden.address}
      role: agent
      ssh: { port: ${hidden.port}, bastion: { address: ${bastion.address}, port: ${bastion.port} } }
`,
  );
  return file;
}

/** The processes holding established client connections to address:port, from ss -p. */
function connectionOwners(address: string, port: number): string {
  return execFileSync("ss", ["-Htnp", "state", "established", "dst", `${address}:${port}`], { encoding: "utf8" });
}

test("hostsFromPlan: direct and bastion hosts from the manifest, identity relative to it", async (t) => {
  if (missing) return t.skip(missing);
  const f = await hostsFixture(t);
  const manifest = await writeManifest(f.dir);
  const plan = planCluster((await loadManifest(manifest)).manifest);
  const hosts = hostsFromPlan(plan, { stateDir: f.state, events: f.events, baseDir: f.dir, env: {} });
  t.after(() => Promise.all([...hosts.values()].map((h) => h.close())));
  assert.deepEqual([...hosts.keys()], ["server-01", "agent-01"]);

  assert.equal((await hosts.get("server-01")!.exec("echo direct")).stdout, "direct\n");
  const behind = hosts.get("agent-01")!;
  const bastionLogins = bastion.logins();
  const hiddenLogins = hidden.logins();
  const results = await Promise.all(Array.from({ length: 5 }, (_, i) => behind.exec(`echo ${i}`)));
  assert.deepEqual(
    results.map((r) => r.stdout),
    ["0\n", "1\n", "2\n", "3\n", "4\n"],
  );
  assert.equal(bastion.logins() - bastionLogins, 1, "one login on the bastion");
  assert.equal(hidden.logins() - hiddenLogins, 1, "one login on the target");
  // The target's client end belongs to the bastion's sshd, not to this process.
  const owners = connectionOwners(hidden.address, hidden.port);
  assert.match(owners, /sshd/);
  assert.doesNotMatch(owners, new RegExp(`pid=${process.pid},`));
  assert.match(hidden.log(), /Accepted publickey for root from 127\.0\.0\.\d+/);

  // Both the bastion's key and the target's are pinned.
  const pinned = f.recorded.filter((e) => e.kind === "host.key.pinned").map((e) => e.host);
  assert.deepEqual(pinned.sort(), [`${bastion.address}:${bastion.port}`, "agent-01", "server-01"].sort());

  // Closing the last host behind the bastion closes the bastion connection too.
  await behind.close();
  await waitFor(() => connectionOwners(bastion.address, bastion.port).trim() === "");
  assert.equal((await behind.exec("echo again")).stdout, "again\n");
});

test("airstrap hosts list and forget work from the manifest and its state dir", async (t) => {
  if (missing) return t.skip(missing);
  const f = await hostsFixture(t);
  const manifest = await writeManifest(f.dir);
  const plan = planCluster((await loadManifest(manifest)).manifest);
  const hosts = hostsFromPlan(plan, { stateDir: f.state, events: f.events, baseDir: f.dir, env: {} });
  await hosts.get("server-01")!.exec("true");
  await hosts.get("server-01")!.close();

  const listed = await hostsCli(["list", "-f", manifest, "--output", "json"]);
  const machines = JSON.parse(listed) as Array<{ name: string; kind: string; keys: Array<{ fingerprint: string }> }>;
  assert.deepEqual(
    machines.map((m) => [m.name, m.kind, m.keys.length]),
    [
      ["server-01", "host", 1],
      ["agent-01", "host", 0],
      [`${bastion.address}:${bastion.port}`, "bastion", 0],
    ],
  );
  const text = await hostsCli(["list", "-f", manifest]);
  assert.match(text, /server-01 +\[127\.0\.0\.1\]:\d+ +ssh-ed25519 +SHA256:/);
  assert.match(text, /agent-01 .*not pinned yet/);

  const forgot = await hostsCli(["forget", "server-01", "-f", manifest]);
  assert.match(forgot, /server-01 .*forgot 1 pinned key/);
  assert.equal((await f.state.read("known_hosts"))?.trim(), "");
  await assert.rejects(hostsCli(["forget", "nope", "-f", manifest]), (error: UsageError) => {
    assert.equal(error.exitCode, 2);
    assert.match(error.message, /no host or bastion named "nope"/);
    assert.match(error.hint ?? "", /server-01, agent-01/);
    return true;
  });
});

/** Runs `airstrap hosts ...` through its commander registration in this process; returns what it printed. */
async function hostsCli(args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerHosts(program);
  const printed: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => {
    printed.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    await program.parseAsync(["hosts", ...args], { from: "user" });
  } finally {
    process.stdout.write = write;
  }
  return printed.join("");
}

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 50 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.ok(condition(), "condition reached within 5 s");
}

test("the host with connection: local is this machine, through the local transport; the others are SSH hosts", async (t) => {
  const f = await hostsFixture(t);
  const manifest = join(f.dir, "cluster.yaml");
  await writeFile(
    manifest,
    `apiVersion: airstrap.io/v1alpha1
kind: Cluster
metadata: { name: mixed }
spec:
  domain: mixed.lan
  distro: { name: k3s, version: v1.31.4+k3s1 }
  hosts:
    - { name: here, address: 127.0.0.1, role: server, connection: local }
    - { name: there, address: 127.0.0.9, role: agent }
`,
  );
  const plan = planCluster((await loadManifest(manifest)).manifest);
  const hosts = hostsFromPlan(plan, { stateDir: f.state, events: f.events, baseDir: f.dir });
  assert.equal(hosts.get("here")?.address, "local");
  assert.equal(hosts.get("there")?.address, "127.0.0.9");
  const here = await hosts.get("here")!.exec("echo $$; hostname");
  assert.equal(here.code, 0);
  assert.equal(here.stdout.split("\n")[1], execFileSync("hostname", { encoding: "utf8" }).trim());
  // AIRSTRAP_MAX_OUTPUT_MIB caps what is kept of each command's output, on every host of the plan.
  const capped = hostsFromPlan(plan, {
    stateDir: f.state,
    events: f.events,
    baseDir: f.dir,
    env: { AIRSTRAP_MAX_OUTPUT_MIB: "1" },
  });
  assertCapped((await capped.get("here")!.exec("seq 1 3000000")).stdout, 2 ** 20);
  assert.throws(
    () =>
      hostsFromPlan(plan, {
        stateDir: f.state,
        events: f.events,
        baseDir: f.dir,
        env: { AIRSTRAP_MAX_OUTPUT_MIB: "lots" },
      }),
    /AIRSTRAP_MAX_OUTPUT_MIB is "lots", not a positive number/,
  );
  // Nothing to pin for it: `airstrap hosts` lists the SSH hosts only.
  assert.deepEqual(
    (await pinnedMachines(plan, f.knownHosts)).map((m) => m.name),
    ["there"],
  );
});
