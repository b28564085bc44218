import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { silentEvents } from "../../src/events.js";
import { findProcesses, runCommand } from "../../src/lab/exec.js";
import { currentLabStatus, labDown } from "../../src/lab/lab.js";
import { ensureNetbootImage } from "../../src/lab/netboot/build.js";
import { namespaceExists } from "../../src/lab/network.js";
import { labPower } from "../../src/lab/power.js";
import { notOnThisMachine } from "../helpers/skip.js";
import { sshRunAsync } from "../peers/lab-ssh.js";
import { FLOOR_FILE, FLOOR_USER, startPxeFloor, waitForSshAnswer, writeFloorIgnition } from "../peers/pxe-floor.js";
import { createTestLab, labSkipReason } from "./lab-fixture.js";

/** Under TCG one boot takes about a minute on an idle machine and 3-5 min on this loaded one; this bounds a bad one. */
const BOOT_TIMEOUT_MS = 9 * 60_000;
const MAC = "52:54:00:9e:00:31";

async function skipReason(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return notOnThisMachine("the PXE lab needs root (namespace, tap, qemu)");
  const lab = await labSkipReason();
  if (lab) return lab;
  for (const program of ["qemu-system-x86_64", "dnsmasq", "mksquashfs"]) {
    if ((await runCommand(["sh", "-c", `command -v ${program}`], { allowFailure: true })).code !== 0) {
      return `${program} is not installed (scripts/debian-packages.txt)`;
    }
  }
  return undefined;
}

test("a lab machine with no OS boots the lab's Debian from the floor (dnsmasq + static HTTP) and runs its Ignition", async (t) => {
  const reason = await skipReason();
  if (reason) return t.skip(reason);
  const image = await ensureNetbootImage({ events: silentEvents });
  const site = await createTestLab({ offset: 41, hosts: [{ name: "pxe-1", role: "server", octet: 31, mac: MAC }] });
  const work = await mkdtemp(join(tmpdir(), "airstrap-pxe-floor-"));
  let floor: Awaited<ReturnType<typeof startPxeFloor>> | undefined;
  try {
    await site.up();
    const host = site.hosts[0]!;
    const before = await currentLabStatus(site.state);
    assert.deepEqual(
      before.hosts.map((entry) => [entry.name, entry.machine, entry.state]),
      [["pxe-1", "pxe-vm", "off"]],
    );

    const { ignition, knownHosts } = await writeFloorIgnition(
      work,
      readFileSync(`${site.identity}.pub`, "utf8").trim(),
      [host.address],
    );
    const lab = await site.lab();
    floor = await startPxeFloor({
      netns: lab.names.netns,
      bridge: lab.names.bridge,
      dhcpAddress: `${site.subnet}.2/24`,
      httpAddress: site.bootstrapAddress,
      machines: [{ mac: MAC, address: host.address, hostname: host.name }],
      files: { kernel: image.kernel, initrd: image.initrd, rootImage: image.rootImage, ignition },
      workDir: join(work, "floor"),
    });

    const poweredOn = Date.now();
    await labPower(site.state, host.name, "on", silentEvents);
    assert.equal((await currentLabStatus(site.state)).hosts[0]?.state, "running");
    const ssh = (command: string) =>
      sshRunAsync({ address: host.address, user: FLOOR_USER }, site.identity, knownHosts, command);
    const answered = await waitForSshAnswer(() => ssh("true"), BOOT_TIMEOUT_MS);
    const console = readFileSync(join(site.dir, ".airstrap/lab/logs/pxe-1.console.log"), "utf8");
    assert.ok(
      answered !== undefined,
      `pxe-1 did not answer SSH within ${BOOT_TIMEOUT_MS / 1000} s; console:\n${console.split("\n").slice(-30).join("\n")}`,
    );
    t.diagnostic(`power-on to SSH: ${((answered - poweredOn) / 1000).toFixed(1)} s (TCG, 1 vCPU)`);

    const file = await ssh(`cat ${FLOOR_FILE.path} && sudo -n true && echo sudo-ok`);
    assert.equal(file.stdout, `${FLOOR_FILE.content}sudo-ok\n`);
    const served = floor.requests.filter((request) => request.status === 200).map((request) => request.path);
    for (const path of ["/boot.ipxe", "/vmlinuz", "/initrd.img", "/live.squashfs", "/ignition.json"]) {
      assert.ok(served.includes(path), `${path} was not fetched (served: ${served.join(", ")})`);
    }
    assert.match(
      readFileSync(floor.dnsmasqLog, "utf8"),
      new RegExp(`DHCPACK\\(\\S+\\) ${host.address.replaceAll(".", "\\.")} ${MAC}`),
    );

    await labPower(site.state, host.name, "off", silentEvents);
    assert.equal((await currentLabStatus(site.state)).hosts[0]?.state, "off");
  } finally {
    await floor?.close();
    const lab = await site.lab().catch(() => undefined);
    await labDown(site.state, silentEvents);
    await rm(work, { recursive: true, force: true });
    if (lab) {
      const machine = lab.hosts[0]?.machine ?? "-";
      assert.deepEqual(
        findProcesses((commandLine) => commandLine.some((part) => part.includes(machine))),
        [],
        "a qemu of the lab outlived lab down",
      );
      assert.equal(await namespaceExists(lab.names.netns), false);
    }
    await site.remove();
  }
});
