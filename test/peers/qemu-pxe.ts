import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";

/**
 * A machine with no disk that boots from the network: qemu (TCG, so no /dev/kvm is needed) with
 * the iPXE option ROM Debian's ipxe-qemu ships for virtio-net, on a tap device of a test's own
 * bridge. BIOS uses SeaBIOS, UEFI uses OVMF.
 */
export interface PxeVm {
  child: ChildProcess;
  stop(): Promise<void>;
}

export const OVMF = "/usr/share/qemu/OVMF.fd";

export function qemuSkipReason(): string | undefined {
  if (!existsSync("/usr/bin/qemu-system-x86_64")) return "qemu-system-x86 is not installed (scripts/install-deps.sh)";
  if (!existsSync("/usr/lib/ipxe/qemu/efi-virtio.rom")) return "ipxe-qemu is not installed (scripts/install-deps.sh)";
  if (!existsSync(OVMF)) return "ovmf is not installed (scripts/install-deps.sh)";
  return undefined;
}

export function startPxeVm(options: {
  /** The namespace holding the tap (and the bridge it is plugged into). */
  netns: string;
  tap: string;
  mac: string;
  firmware: "bios" | "uefi";
  /**
   * Without the NIC's iPXE option ROM, UEFI boots with the firmware's own PXE client (edk2's): it
   * fetches an NBP over TFTP first, as most bare-metal UEFI machines do.
   */
  optionRom?: boolean;
  memoryMiB?: number;
  serialLog?: string;
}): PxeVm {
  // virtio-net's default option ROM (Debian's efi-virtio.rom) holds iPXE for BIOS and for UEFI;
  // the BIOS-only pxe-virtio.rom does not come up under SeaBIOS with -nodefaults.
  const firmware = [
    ...(options.firmware === "uefi" ? ["-bios", OVMF] : []),
    "-device",
    `virtio-net-pci,netdev=n0,mac=${options.mac}${options.optionRom === false ? ",romfile=" : ""}`,
  ];
  const args = [
    "netns",
    "exec",
    options.netns,
    "qemu-system-x86_64",
    "-machine",
    "pc,accel=tcg",
    "-m",
    String(options.memoryMiB ?? 256),
    "-nodefaults",
    "-display",
    "none",
    "-monitor",
    "none",
    "-serial",
    options.serialLog ? `file:${options.serialLog}` : "null",
    "-boot",
    "n",
    "-netdev",
    `tap,id=n0,ifname=${options.tap},script=no,downscript=no`,
    ...firmware,
  ];
  const child = spawn("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}
