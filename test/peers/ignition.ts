import { existsSync } from "node:fs";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runChecker } from "./run-checker.js";

/** Debian's Ignition (package ignition, 2.14), as its dracut module runs it in the initramfs. */
export const IGNITION = "/usr/lib/dracut/modules.d/30ignition/ignition";

export function ignitionMissing(): string | undefined {
  if (!existsSync(IGNITION)) return `${IGNITION} missing: apt-get install ignition`;
  // The prefix is the one test/helpers/skip.ts (notOnThisMachine) writes on main: root is not a package.
  if (process.getuid?.() !== 0)
    return "not on this machine: root (Ignition's files stage creates users with useradd --root)";
  if (!existsSync("/usr/sbin/useradd")) return "useradd missing (package passwd)";
  return undefined;
}

/**
 * A root with only what the files stage reads: passwd, group, shadow, gshadow. Debian's build
 * relabels SELinux contexts after the files stage; a root without SELinux carries
 * `SELINUX=disabled` and a `setfiles` that does nothing, as the lab's boot image does.
 */
export async function minimalRoot(dir: string): Promise<{ root: string; path: string }> {
  const root = join(dir, "root");
  const bin = join(dir, "bin");
  // Ignition creates the user's ~/.ssh as that user: the path down to the root must be passable.
  await chmod(dir, 0o711);
  await mkdir(join(root, "etc/selinux"), { recursive: true });
  await mkdir(bin);
  await writeFile(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  await writeFile(join(root, "etc/group"), "root:x:0:\n");
  await writeFile(join(root, "etc/shadow"), "root:*:19000:0:99999:7:::\n", { mode: 0o600 });
  await writeFile(join(root, "etc/gshadow"), "root:*::\n", { mode: 0o600 });
  await writeFile(join(root, "etc/selinux/config"), "SELINUX=disabled\nSELINUXTYPE=targeted\n");
  await writeFile(join(bin, "setfiles"), "#!/bin/sh\nexit 0\n");
  await chmod(join(bin, "setfiles"), 0o755);
  return { root, path: `${bin}:${process.env.PATH ?? "/usr/sbin:/usr/bin"}` };
}

/** Runs Ignition's fetch and files stages with a config file, as on first boot, into `root`. */
export async function applyIgnition(
  configFile: string,
  work: string,
  root: string,
  path: string,
): Promise<{ ok: boolean; output: string }> {
  const env = { ...process.env, PATH: path, IGNITION_CONFIG_FILE: configFile };
  const common = [
    "-platform",
    "file",
    "-log-to-stdout",
    "-config-cache",
    join(work, "cache.json"),
    "-state-file",
    join(work, "state"),
  ];
  const fetched = await runChecker(IGNITION, ["-stage", "fetch", "-neednet", join(work, "neednet"), ...common], env);
  if (!fetched.ok) return fetched;
  return runChecker(IGNITION, ["-stage", "files", "-root", root, ...common], env);
}
