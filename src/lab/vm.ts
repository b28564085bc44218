import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { mkdir, open, rm } from "node:fs/promises";
import { createConnection } from "node:net";
import { dirname } from "node:path";
import { OperatorError } from "../errors.js";
import { processAlive, processCommandLine, runCommand, waitForExit } from "./exec.js";
import { linkExists } from "./network.js";

/**
 * A machine with no OS: a qemu VM without a disk that boots from the network on the lab's bridge.
 * Powered off means no qemu process; its tap stays plugged into the bridge, as a cable would.
 * TCG, not KVM: this kind of machine's /dev/kvm does not run stock kernels.
 */
export interface VmLaunch {
  netns: string;
  bridge: string;
  tap: string;
  /** Names the qemu process (-name), so a PID is only ever taken for this VM's. */
  machine: string;
  mac: string;
  firmware: VmFirmware;
  memoryMiB: number;
  consoleLog: string;
  /** The qemu monitor's unix socket: reset goes through it. */
  monitor: string;
  /** A blank sparse file, the machine's data disk (virtio, /dev/vda inside); no OS is ever on it. */
  dataDisk?: string;
}

export type VmFirmware = "bios" | "uefi";

export const VM_MEMORY_MIB = 2048;

const QEMU = "qemu-system-x86_64";
// The card's ROM is qemu's default for virtio-net: efi-virtio.rom from ipxe-qemu, iPXE for BIOS and
// UEFI. Named explicitly (romfile=/usr/lib/ipxe/qemu/…, pxe- or efi-), SeaBIOS here never runs it
// and the VM finds no boot device at all.
const FIRMWARE = { bios: [], uefi: ["-bios", "/usr/share/qemu/OVMF.fd"] } as const;

/** Pure: qemu's command line for a VM that can only boot from its network card. */
export function qemuArguments(launch: VmLaunch): string[] {
  const firmware = FIRMWARE[launch.firmware];
  return [
    "-name",
    vmProcessName(launch.machine),
    "-machine",
    "pc,accel=tcg",
    "-m",
    String(launch.memoryMiB),
    "-smp",
    "1",
    ...firmware,
    "-display",
    "none",
    "-nodefaults",
    "-chardev",
    `file,id=console,path=${launch.consoleLog},append=on`,
    "-serial",
    "chardev:console",
    "-monitor",
    `unix:${launch.monitor},server=on,wait=off`,
    "-netdev",
    `tap,id=site,ifname=${launch.tap},script=no,downscript=no`,
    "-device",
    `virtio-net-pci,netdev=site,mac=${launch.mac}`,
    // discard and zero writes punch holes, so the sparse file grows only by what the guest keeps.
    ...(launch.dataDisk === undefined
      ? []
      : ["-drive", `file=${launch.dataDisk},format=raw,if=virtio,discard=unmap,detect-zeroes=unmap`]),
    "-boot",
    "order=n",
  ];
}

/** What the sparse data disk of a lab VM holds at most: room for a server's images, no disk space until written. */
export const VM_DATA_DISK_BYTES = 16 * 2 ** 30;

/** Makes the VM's data disk: a sparse file, blank like a new disk (kept if it exists: a disk outlives power cycles). */
export async function createVmDataDisk(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const file = await open(path, "a", 0o600);
  try {
    if ((await file.stat()).size === 0) await file.truncate(VM_DATA_DISK_BYTES);
  } finally {
    await file.close();
  }
}

export function vmProcessName(machine: string): string {
  return `airstrap-lab-${machine}`;
}

/** The VM's tap in the lab's namespace, plugged into the bridge (idempotent). */
export async function createVmTap(netns: string, bridge: string, tap: string): Promise<void> {
  if (!(await linkExists(tap, netns))) {
    await runCommand(["ip", "-n", netns, "tuntap", "add", "dev", tap, "mode", "tap"]);
  }
  await runCommand(["ip", "-n", netns, "link", "set", tap, "master", bridge, "up"]);
}

/** Powers the VM on: starts qemu inside the lab's namespace, detached; returns its PID. */
export function powerOnVm(launch: VmLaunch): number {
  mkdirSync(dirname(launch.consoleLog), { recursive: true, mode: 0o700 });
  mkdirSync(dirname(launch.monitor), { recursive: true, mode: 0o700 });
  const log = openSync(`${launch.consoleLog}.qemu`, "a", 0o600);
  try {
    const child = spawn("nsenter", [`--net=/run/netns/${launch.netns}`, QEMU, ...qemuArguments(launch)], {
      detached: true,
      stdio: ["ignore", log, log],
    });
    if (child.pid === undefined) throw new Error(`could not start ${QEMU} for ${launch.machine}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(log);
  }
}

/** True when the PID is this VM's qemu (not a recycled PID, not nsenter before its exec). */
export function isOurVm(pid: number | undefined, machine: string): pid is number {
  if (pid === undefined || !processAlive(pid)) return false;
  const commandLine = processCommandLine(pid);
  return commandLine?.[0]?.endsWith(QEMU) === true && commandLine.includes(vmProcessName(machine));
}

/** Pulls the plug: qemu ends at once on SIGTERM (the guest is not asked), SIGKILL if it lingers. */
export async function powerOffVm(pid: number, machine: string, monitor: string): Promise<void> {
  if (isOurVm(pid, machine) || processCommandLine(pid)?.includes(vmProcessName(machine))) {
    process.kill(pid, "SIGTERM");
    if (!(await waitForExit(pid, 5_000))) process.kill(pid, "SIGKILL");
    await waitForExit(pid, 5_000);
  }
  await rm(monitor, { force: true });
}

/** The reset button: the monitor's system_reset (the VM boots again from the network). */
export async function resetVm(monitor: string, machine: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const socket = createConnection(monitor);
    const timer = setTimeout(() => socket.destroy(new Error("the qemu monitor did not answer")), 5_000);
    socket.once("connect", () => socket.end("system_reset\n"));
    socket.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(
        new OperatorError(`cannot reset ${machine}: ${error.message}`, {
          hint: "is it powered on? see airstrap lab status",
        }),
      );
    });
  });
}
