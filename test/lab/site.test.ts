import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { silentEvents } from "../../src/events.js";
import { findLabContainers } from "../../src/lab/container.js";
import { labDisksDir } from "../../src/lab/disk.js";
import { processAlive } from "../../src/lab/exec.js";
import { currentLabStatus, labDown, labHeal, labKill, labPartition, labStart, labStop } from "../../src/lab/lab.js";
import { LAB_MIRROR_PORT } from "../../src/lab/mirror-helper.js";
import { labNames } from "../../src/lab/names.js";
import { linkExists, namespaceExists } from "../../src/lab/network.js";
import { sshFingerprint } from "../../src/lab/probe.js";
import { scanHostKey } from "../peers/lab-ssh.js";
import { createTestLab, labSkipReason } from "./lab-fixture.js";

const skipReason = await labSkipReason();

describe("lab: a simulated site", { skip: skipReason ?? false }, async () => {
  const site = await createTestLab({
    offset: 1,
    hosts: [
      { name: "srv-1", role: "server", octet: 11 },
      { name: "srv-2", role: "server", octet: 12 },
      { name: "agt-1", role: "agent", octet: 21 },
    ],
  });
  const [first, second, third] = site.hosts as [(typeof site.hosts)[0], (typeof site.hosts)[0], (typeof site.hosts)[0]];

  before(() => site.up());
  after(() => site.remove());

  test("every host answers SSH as itself, through the lab identity (0600), with the host key the lab reported", () => {
    assert.equal(statSync(site.identity).mode & 0o777, 0o600);
    for (const host of site.hosts) {
      const result = site.ssh(host, "hostname; systemctl is-system-running --wait || systemctl --failed --no-legend");
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(result.stdout.trim().split("\n"), [host.name, "running"], `${host.name}: ${result.stdout}`);
    }
  });

  test("every host has its own SSH host key", async () => {
    const lab = await site.lab();
    const scanned = lab.hosts.map((host) => scanHostKey(host.address));
    for (const [i, host] of lab.hosts.entries())
      assert.equal(scanned[i], host.hostKey.split(/\s+/).slice(0, 2).join(" "));
    assert.equal(new Set(scanned).size, lab.hosts.length);
  });

  test("hosts reach each other and the bootstrap address, and have no route out", () => {
    const ping = site.ssh(first, `ping -c1 -W2 ${second.address} && ping -c1 -W2 ${site.bootstrapAddress}`);
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    assert.equal(site.ssh(first, "ip -4 route show default | wc -l").stdout.trim(), "0");
  });

  test("the lab's release mirror serves the simulated release with matching sums to the hosts", () => {
    const base = `http://${site.bootstrapAddress}:${LAB_MIRROR_PORT}/rke2`;
    const fetch = site.ssh(
      third,
      `set -e; d=$(mktemp -d); cd $d; for f in sha256sum-amd64.txt rke2.linux-amd64.tar.gz rke2-images.linux-amd64.tar.zst; do curl -fsSO ${base}/v1.31.4%2Brke2r1/$f; done; curl -fsSO ${base}/install.sh; sha256sum -c sha256sum-amd64.txt; grep -c SIMULATION install.sh`,
    );
    assert.equal(fetch.code, 0, fetch.stdout + fetch.stderr);
    assert.match(fetch.stdout, /rke2\.linux-amd64\.tar\.gz: OK/);
    assert.match(fetch.stdout, /rke2-images\.linux-amd64\.tar\.zst: OK/);
  });

  test("status lists every host running with SSH answering", async () => {
    const status = await currentLabStatus(site.state);
    assert.deepEqual(
      status.hosts.map((host) => [host.name, host.state, host.ssh]),
      site.hosts.map((host) => [host.name, "running", true]),
    );
    const lab = await site.lab();
    assert.deepEqual(
      status.hosts.map((host) => host.hostKey),
      lab.hosts.map((host) => sshFingerprint(host.hostKey)),
    );
    assert.equal(status.helpers[0]?.running, true);
  });

  test("stop and start: the host goes away and comes back with the same host key and its disk", async () => {
    assert.equal(site.ssh(second, "echo kept > /root/marker").code, 0);
    await labStop(site.state, second.name, silentEvents);
    let status = await currentLabStatus(site.state);
    assert.equal(status.hosts[1]!.state, "stopped");
    assert.equal(scanHostKey(second.address), undefined);
    await labStart(site.state, second.name, silentEvents);
    status = await currentLabStatus(site.state);
    assert.equal(status.hosts[1]!.state, "running");
    const result = site.ssh(second, "hostname; cat /root/marker");
    assert.equal(result.stdout.trim(), `${second.name}\nkept`, result.stderr);
  });

  test("kill cuts the power: every process of the host gone at once", async () => {
    const pid = (await site.lab()).hosts[2]!.pid!;
    await labKill(site.state, third.name, silentEvents);
    assert.equal(processAlive(pid), false, "nspawn still runs after kill");
    assert.equal((await currentLabStatus(site.state)).hosts[2]!.state, "stopped");
    await labStart(site.state, third.name, silentEvents);
    assert.equal(site.ssh(third, "hostname").stdout.trim(), third.name);
  });

  test("partition cuts a running host off the site; heal plugs it back", async () => {
    await labPartition(site.state, second.name, silentEvents);
    const status = await currentLabStatus(site.state);
    assert.equal(status.hosts[1]!.state, "partitioned");
    assert.equal(status.hosts[1]!.ssh, false);
    const ping = site.ssh(first, `ping -c1 -W1 ${second.address}`);
    assert.notEqual(ping.code, 0, "a partitioned host must not answer its peers");
    await labHeal(site.state, second.name, silentEvents);
    const healed = site.ssh(first, `ping -c1 -W2 ${second.address}`);
    assert.equal(healed.code, 0, healed.stdout);
    assert.equal(site.ssh(second, "hostname").stdout.trim(), second.name);
  });

  test("down leaves nothing behind, twice over; up again after down works with fresh host keys", async () => {
    const names = labNames(site.name);
    const before = await site.lab();
    const pids = [...before.hosts.map((host) => host.pid!), ...before.helpers.map((helper) => helper.pid)];
    await labDown(site.state, silentEvents);
    await assertNoResidue(names, pids);
    await labDown(site.state, silentEvents);
    await assertNoResidue(names, pids);

    await site.up();
    const lab = await site.lab();
    for (const [i, host] of lab.hosts.entries()) assert.notEqual(host.hostKey, before.hosts[i]!.hostKey);
    const result = site.ssh(second, "hostname; test -e /root/marker || echo clean-disk");
    assert.equal(result.stdout.trim(), `${second.name}\nclean-disk`, result.stderr);
  });

  test("down without the state file (deleted by hand) still removes everything of the lab by its name", async () => {
    const names = labNames(site.name);
    const before = await site.lab();
    const pids = [...before.hosts.map((host) => host.pid!), ...before.helpers.map((helper) => helper.pid)];
    rmSync(site.state.file("lab/lab.json"));
    await labDown(site.state, silentEvents, { name: site.name });
    await assertNoResidue(names, pids);
  });

  async function assertNoResidue(names: ReturnType<typeof labNames>, pids: number[]): Promise<void> {
    assert.equal(await namespaceExists(names.netns), false, "namespace left behind");
    assert.equal(await linkExists(names.hostLink), false, "host link left behind");
    assert.deepEqual(findLabContainers(names.tag), [], "nspawn processes left behind");
    for (const pid of pids) assert.equal(processAlive(pid), false, `process ${pid} left behind`);
    const routes = spawnSync("ip", ["-4", "route", "show", `${site.subnet}.0/24`], { encoding: "utf8" }).stdout;
    assert.equal(routes.trim(), "", "route into the site left behind");
    assert.equal(readFileSync("/proc/mounts", "utf8").includes(names.tag), false, "mounts left behind");
    assert.equal(existsSync(site.state.file("lab/lab.json")), false, "lab state left behind");
    assert.equal(existsSync(labDisksDir(names.tag)), false, "host disks left behind");
    const cgroups = spawnSync("find", ["/sys/fs/cgroup", "-maxdepth", "4", "-name", `${names.tag}-h*`], {
      encoding: "utf8",
    }).stdout;
    assert.equal(cgroups.trim(), "", "cgroups left behind");
  }
});
