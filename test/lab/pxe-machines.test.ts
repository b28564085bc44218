import assert from "node:assert/strict";
import { mkdtemp, open, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { labSpecFromManifest } from "../../src/lab/spec.js";
import { createVmDataDisk, qemuArguments, VM_DATA_DISK_BYTES } from "../../src/lab/vm.js";
import { loadManifest } from "../../src/manifest/load.js";

const manifest = (provisioning: string) => `apiVersion: airstrap.io/v1alpha1
kind: Cluster
metadata: { name: edge }
spec:
  domain: edge.lan
  distro: { name: rke2, version: v1.31.4+rke2r1, arch: amd64 }
  bootstrap: { address: 10.77.0.1 }
  hosts:
    - { name: s1, address: 10.77.0.11, role: server }
    - { name: a1, address: 10.77.0.21, role: agent, mac: "52:54:00:77:00:21" }
${provisioning}`;

const PXE = `  provisioning:
    pxe:
      interface: eth1
      subnet: 10.77.0.0/24
      dhcp: full
      os: { kernel: debian/vmlinuz, initrd: [debian/initrd.img], rootImage: debian/live.squashfs }
`;

async function specOf(text: string) {
  const dir = await mkdtemp(join(tmpdir(), "airstrap-lab-pxe-spec-"));
  try {
    const file = join(dir, "cluster.yaml");
    await writeFile(file, text);
    return labSpecFromManifest((await loadManifest(file)).manifest, file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("with spec.provisioning.pxe, a host with a mac is a lab machine that boots from the network; others stay containers", async () => {
  const spec = await specOf(manifest(PXE));
  assert.deepEqual(
    spec.hosts.map((host) => [host.name, host.pxe]),
    [
      ["s1", undefined],
      ["a1", { mac: "52:54:00:77:00:21" }],
    ],
  );
});

test("without spec.provisioning.pxe a mac alone does not make a PXE machine (the plan would not boot it either)", async () => {
  const spec = await specOf(manifest(""));
  assert.equal(spec.hosts.find((host) => host.name === "a1")?.pxe, undefined);
});

test("the VM has no OS disk, TCG, its MAC on the lab's tap, boots only from the network; UEFI adds OVMF", () => {
  const launch = {
    netns: "airstrap-lab-edge",
    bridge: "br-site",
    tap: "tp-abcd1234-h1",
    machine: "abcd1234-h1",
    mac: "52:54:00:77:00:21",
    firmware: "bios" as const,
    memoryMiB: 2048,
    consoleLog: "/state/lab/logs/a1.console.log",
    monitor: "/state/lab/vms/a1.monitor",
  };
  const args = qemuArguments(launch);
  const after = (flag: string) => args[args.indexOf(flag) + 1];
  assert.equal(after("-machine"), "pc,accel=tcg");
  assert.equal(after("-name"), "airstrap-lab-abcd1234-h1");
  assert.equal(after("-netdev"), "tap,id=site,ifname=tp-abcd1234-h1,script=no,downscript=no");
  assert.equal(after("-device"), "virtio-net-pci,netdev=site,mac=52:54:00:77:00:21");
  assert.equal(after("-boot"), "order=n");
  assert.ok(
    !args.some((arg) => /^-(drive|hda|cdrom|kernel)$/.test(arg)),
    "a machine with no OS has no disk and no kernel",
  );
  // Its data disk, when it has one, is a blank virtio disk; the boot order stays network only.
  const withDisk = qemuArguments({ ...launch, dataDisk: "/disks/a1/data.raw" });
  assert.equal(
    withDisk[withDisk.indexOf("-drive") + 1],
    "file=/disks/a1/data.raw,format=raw,if=virtio,discard=unmap,detect-zeroes=unmap",
  );
  assert.equal(withDisk[withDisk.indexOf("-boot") + 1], "order=n");
  assert.ok(!withDisk.includes("-kernel"));
  assert.ok(!args.includes("-bios"));
  const uefi = qemuArguments({ ...launch, firmware: "uefi" });
  assert.equal(uefi[uefi.indexOf("-bios") + 1], "/usr/share/qemu/OVMF.fd");
});

test("the VM's data disk is a blank sparse file of 16 GiB that costs no space, and outlives a power cycle", async () => {
  const dir = await mkdtemp(join(tmpdir(), "airstrap-lab-data-disk-"));
  try {
    const disk = join(dir, "a1", "data.raw");
    await createVmDataDisk(disk);
    const made = await stat(disk);
    assert.equal(made.size, VM_DATA_DISK_BYTES);
    assert.ok(made.blocks * 512 < 2 ** 20, `${made.blocks} blocks allocated`);
    assert.equal(made.mode & 0o777, 0o600);
    await writeFile(disk, "written by the guest", { flag: "r+" });
    await createVmDataDisk(disk);
    const file = await open(disk, "r");
    const { buffer } = await file.read(Buffer.alloc(20), 0, 20, 0);
    await file.close();
    assert.equal(buffer.toString(), "written by the guest");
    assert.equal((await stat(disk)).size, VM_DATA_DISK_BYTES);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
