import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { silentEvents } from "../../src/events.js";
import { findLabContainers } from "../../src/lab/container.js";
import { processAlive } from "../../src/lab/exec.js";
import { labUpFromManifest, openLabState } from "../../src/lab/from-manifest.js";
import {
  currentLabStatus,
  labDown,
  labHeal,
  labKill,
  labPartition,
  labStart,
  labStop,
  requireLab,
} from "../../src/lab/lab.js";
import { labNames } from "../../src/lab/names.js";
import { linkExists, namespaceExists } from "../../src/lab/network.js";
import { missingPrerequisites } from "../../src/lab/prerequisites.js";
import { sshFingerprint } from "../../src/lab/probe.js";
import { LAB_IDENTITY_FILE, type LabState } from "../../src/lab/state.js";
import type { StateDir } from "../../src/state/state-dir.js";
import { scanHostKey, sshRun } from "../peers/lab-ssh.js";

const { problems } = await missingPrerequisites();
const skipReason = problems.length > 0 ? `the lab cannot run here: ${problems.join("; ")}` : undefined;

// A private range and names of its own, so this lab cannot collide with any other on the machine.
const octet = 100 + (process.pid % 150);
const labName = `t${process.pid.toString(36)}`;
const subnet = `10.231.${octet}`;
const hosts = [
  { name: "srv-1", address: `${subnet}.11`, role: "server" },
  { name: "srv-2", address: `${subnet}.12`, role: "server" },
  { name: "agt-1", address: `${subnet}.21`, role: "agent" },
];

function manifestText(): string {
  return `apiVersion: airstrap.io/v1alpha1
kind: Cluster
metadata: { name: ${labName} }
spec:
  domain: test.lan
  distro: { name: rke2, version: v1.31.4+rke2r1, arch: amd64 }
  bootstrap: { address: ${subnet}.1 }
  ssh: { user: root, identityFile: .airstrap/lab/id_ed25519 }
  hosts:
${hosts.map((host) => `    - { name: ${host.name}, address: ${host.address}, role: ${host.role} }`).join("\n")}
`;
}

describe("lab: a simulated site", { skip: skipReason ?? false }, () => {
  const dir = mkdtempSync(join(tmpdir(), "airstrap-lab-test-"));
  const file = join(dir, "cluster.yaml");
  let state: StateDir;
  let identity: string;
  let knownHosts: string;

  async function labState(): Promise<LabState> {
    return requireLab(state);
  }

  function writeKnownHosts(lab: LabState): void {
    knownHosts = join(dir, "known_hosts");
    writeFileSync(knownHosts, lab.hosts.map((host) => `${host.address} ${host.hostKey}`).join("\n") + "\n");
  }

  before(async () => {
    writeFileSync(file, manifestText());
    await labUpFromManifest({ file, events: silentEvents });
    state = await openLabState({ file });
    identity = state.file(LAB_IDENTITY_FILE);
    writeKnownHosts(await labState());
  });

  after(async () => {
    if (state) await labDown(state, silentEvents);
    rmSync(dir, { recursive: true, force: true });
  });

  test("every host answers SSH as itself, through the lab identity, with the host key the lab reported", async () => {
    assert.equal(statSync(identity).mode & 0o777, 0o600);
    for (const host of hosts) {
      const result = sshRun(
        { address: host.address },
        identity,
        knownHosts,
        "hostname; systemctl is-system-running --wait",
      );
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(result.stdout.trim().split("\n"), [host.name, "running"]);
    }
  });

  test("every host has its own SSH host key", async () => {
    const lab = await labState();
    const scanned = lab.hosts.map((host) => scanHostKey(host.address));
    for (const [i, host] of lab.hosts.entries())
      assert.equal(scanned[i], host.hostKey.split(/\s+/).slice(0, 2).join(" "));
    assert.equal(new Set(scanned).size, lab.hosts.length);
  });

  test("hosts reach each other and the bootstrap address, and nothing else", async () => {
    const [first, second] = hosts;
    const ping = sshRun(
      { address: first!.address },
      identity,
      knownHosts,
      `ping -c1 -W2 ${second!.address} && ping -c1 -W2 ${subnet}.1`,
    );
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    const routes = sshRun({ address: first!.address }, identity, knownHosts, "ip -4 route show default | wc -l");
    assert.equal(routes.stdout.trim(), "0");
  });

  test("status lists every host running with SSH answering", async () => {
    const status = await currentLabStatus(state);
    assert.deepEqual(
      status.hosts.map((host) => [host.name, host.state, host.ssh]),
      hosts.map((host) => [host.name, "running", true]),
    );
    const lab = await labState();
    assert.deepEqual(
      status.hosts.map((host) => host.hostKey),
      lab.hosts.map((host) => sshFingerprint(host.hostKey)),
    );
  });

  test("stop and start: the host goes away and comes back with the same host key", async () => {
    const target = hosts[1]!;
    await labStop(state, target.name, silentEvents);
    let status = await currentLabStatus(state);
    assert.equal(status.hosts[1]!.state, "stopped");
    assert.equal(scanHostKey(target.address), undefined);
    await labStart(state, target.name, silentEvents);
    status = await currentLabStatus(state);
    assert.equal(status.hosts[1]!.state, "running");
    const result = sshRun({ address: target.address }, identity, knownHosts, "hostname");
    assert.equal(result.stdout.trim(), target.name, result.stderr);
  });

  test("kill cuts the power: no shutdown, every process of the host gone at once", async () => {
    const target = hosts[2]!;
    const before = (await labState()).hosts[2]!.pid!;
    await labKill(state, target.name, silentEvents);
    assert.equal(processAlive(before), false, "nspawn still runs after kill");
    assert.equal((await currentLabStatus(state)).hosts[2]!.state, "stopped");
    await labStart(state, target.name, silentEvents);
    assert.equal(sshRun({ address: target.address }, identity, knownHosts, "hostname").stdout.trim(), target.name);
  });

  test("partition cuts a running host off the site; heal plugs it back", async () => {
    const [first, target] = [hosts[0]!, hosts[1]!];
    await labPartition(state, target.name, silentEvents);
    const status = await currentLabStatus(state);
    assert.equal(status.hosts[1]!.state, "partitioned");
    assert.equal(status.hosts[1]!.ssh, false);
    const ping = sshRun({ address: first.address }, identity, knownHosts, `ping -c1 -W1 ${target.address}`);
    assert.notEqual(ping.code, 0, "a partitioned host must not answer its peers");
    await labHeal(state, target.name, silentEvents);
    const healed = sshRun({ address: first.address }, identity, knownHosts, `ping -c1 -W2 ${target.address}`);
    assert.equal(healed.code, 0, healed.stdout);
    assert.equal(sshRun({ address: target.address }, identity, knownHosts, "hostname").stdout.trim(), target.name);
  });

  test("down leaves nothing behind, twice over; up again after down works with fresh host keys", async () => {
    const names = labNames(labName);
    const oldKeys = (await labState()).hosts.map((host) => host.hostKey);
    const pids = (await labState()).hosts.map((host) => host.pid!);
    await labDown(state, silentEvents);
    await assertNoResidue(names, pids);
    await labDown(state, silentEvents);
    await assertNoResidue(names, pids);

    await labUpFromManifest({ file, events: silentEvents });
    const lab = await labState();
    writeKnownHosts(lab);
    for (const [i, host] of lab.hosts.entries()) assert.notEqual(host.hostKey, oldKeys[i]);
    const result = sshRun({ address: hosts[0]!.address }, identity, knownHosts, "hostname");
    assert.equal(result.stdout.trim(), hosts[0]!.name, result.stderr);
  });

  async function assertNoResidue(names: ReturnType<typeof labNames>, pids: number[]): Promise<void> {
    assert.equal(await namespaceExists(names.netns), false, "namespace left behind");
    assert.equal(await linkExists(names.hostLink), false, "host link left behind");
    assert.deepEqual(findLabContainers(names.tag), [], "nspawn processes left behind");
    for (const pid of pids) assert.equal(existsSync(`/proc/${pid}`), false, `process ${pid} left behind`);
    const routes = spawnSync("ip", ["-4", "route", "show", `${subnet}.0/24`], { encoding: "utf8" }).stdout;
    assert.equal(routes.trim(), "", "route into the site left behind");
    assert.equal(readFileSync("/proc/mounts", "utf8").includes(names.tag), false, "mounts left behind");
    assert.equal(existsSync(state.file("lab/lab.json")), false, "lab state left behind");
  }
});
