import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";

/**
 * A real iPXE (Debian's ipxe.lkrn) booting in qemu (TCG) with a user-mode network that is
 * restricted: the guest reaches nothing but one address, 10.0.2.100:80, which qemu forwards
 * (through socat) to a server on this machine's loopback. DHCP comes from qemu itself and names
 * `http://10.0.2.100/<bootPath>` as the boot file, so iPXE chains to it as it would on a site.
 */

export const IPXE_LKRN = "/usr/lib/ipxe/ipxe.lkrn";
const QEMU = "/usr/bin/qemu-system-x86_64";
const SOCAT = "/usr/bin/socat";

/** Why the peer cannot run here, or undefined when it can. */
export function ipxeQemuMissing(): string | undefined {
  for (const [path, pkg] of [
    [QEMU, "qemu-system-x86"],
    [IPXE_LKRN, "ipxe"],
    [SOCAT, "socat"],
  ]) {
    if (!existsSync(path!)) return `${path} is missing (Debian package ${pkg})`;
  }
  return undefined;
}

export function bootIpxe(options: { server: string; mac: string; bootPath: string }): ChildProcess {
  const forward = `guestfwd=tcp:10.0.2.100:80-cmd:${SOCAT} - TCP:${options.server}`;
  return spawn(
    QEMU,
    [
      "-machine",
      "pc,accel=tcg",
      "-m",
      "128",
      "-nodefaults",
      "-display",
      "none",
      "-monitor",
      "none",
      "-kernel",
      IPXE_LKRN,
      "-netdev",
      `user,id=n0,restrict=on,ipv6=off,bootfile=http://10.0.2.100${options.bootPath},${forward}`,
      "-device",
      `virtio-net-pci,netdev=n0,mac=${options.mac}`,
    ],
    { stdio: "ignore" },
  );
}
