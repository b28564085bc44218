import { readFileSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { runCommand } from "./exec.js";

/**
 * Each host's disk: an overlay of the shared rootfs with an upper layer of its own on this
 * machine's disk, so what is installed on a host survives `lab stop`/`start` as it would survive a
 * reboot, and costs no memory. A fresh `lab up` starts every host from a clean disk.
 */
export const LAB_DISKS_DIR = "/var/lib/airstrap/lab";

export function labDisksDir(tag: string): string {
  return join(LAB_DISKS_DIR, tag);
}

export function hostDisk(tag: string, host: string): { upper: string; work: string; root: string } {
  const dir = join(labDisksDir(tag), host);
  return { upper: join(dir, "upper"), work: join(dir, "work"), root: join(dir, "root") };
}

/** Mounts the host's overlay (if it is not mounted yet) and returns the directory to boot. */
export async function mountHostDisk(tag: string, host: string, rootfs: string): Promise<string> {
  const disk = hostDisk(tag, host);
  if (mountPoints().includes(disk.root)) return disk.root;
  for (const dir of [disk.upper, disk.work, disk.root]) await mkdir(dir, { recursive: true, mode: 0o755 });
  await runCommand([
    "mount",
    "-t",
    "overlay",
    "overlay",
    "-o",
    `lowerdir=${rootfs},upperdir=${disk.upper},workdir=${disk.work}`,
    disk.root,
  ]);
  return disk.root;
}

/** Unmounts and deletes every host disk of the lab (its containers must be stopped first). */
export async function removeLabDisks(tag: string): Promise<void> {
  const dir = labDisksDir(tag);
  for (const mountPoint of mountPoints()
    .filter((path) => path.startsWith(`${dir}/`))
    .reverse()) {
    const { code } = await runCommand(["umount", mountPoint], { allowFailure: true });
    // Something still holds it open: detach it now, the kernel frees it when the last user goes.
    if (code !== 0) await runCommand(["umount", "--lazy", mountPoint], { allowFailure: true });
  }
  await rm(dir, { recursive: true, force: true });
}

function mountPoints(): string[] {
  return readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[1])
    .filter((path): path is string => path !== undefined)
    .map((path) => path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8))));
}
