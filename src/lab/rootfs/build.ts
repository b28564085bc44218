import { constants } from "node:fs";
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { OperatorError } from "../../errors.js";
import type { Events } from "../../events.js";
import { processAlive, runCommand } from "../exec.js";
import { type RootfsRecipe, recipeHash } from "./recipe.js";

export const DEFAULT_CACHE_DIR = "/var/cache/airstrap/lab";
export const DEFAULT_DEBIAN_MIRROR = "http://deb.debian.org/debian";

export interface RootfsOptions {
  recipe: RootfsRecipe;
  cacheDir?: string;
  mirror?: string;
  events: Events;
}

export interface Rootfs {
  path: string;
  hash: string;
  built: boolean;
}

/** Returns the cached rootfs for this recipe, building it first when there is none. */
export async function ensureRootfs(options: RootfsOptions): Promise<Rootfs> {
  const cacheDir = options.cacheDir ?? DEFAULT_CACHE_DIR;
  const hash = recipeHash(options.recipe);
  const home = join(cacheDir, hash);
  const path = join(home, "rootfs");
  if (await isComplete(home)) return { path, hash, built: false };
  await mkdir(cacheDir, { recursive: true, mode: 0o755 });
  const release = await acquireLock(join(cacheDir, `${hash}.lock`));
  try {
    // Another builder may have finished while this one waited for the lock.
    if (await isComplete(home)) return { path, hash, built: false };
    await buildRootfs(home, hash, options);
    return { path, hash, built: true };
  } finally {
    await release();
  }
}

export async function isComplete(home: string): Promise<boolean> {
  try {
    await stat(join(home, "complete"));
    return true;
  } catch {
    return false;
  }
}

async function buildRootfs(home: string, hash: string, options: RootfsOptions): Promise<void> {
  const { recipe, events } = options;
  const mirror = options.mirror ?? process.env.AIRSTRAP_LAB_DEBIAN_MIRROR ?? DEFAULT_DEBIAN_MIRROR;
  const building = `${home}.building`;
  await rm(building, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
  const target = join(building, "rootfs");
  await mkdir(target, { recursive: true, mode: 0o755 });
  events.emit({
    level: "info",
    kind: "lab.rootfs.build",
    message: `building the lab root filesystem ${hash} with debootstrap from ${mirror} (once; cached after)`,
  });
  try {
    await runCommand([
      "debootstrap",
      `--variant=${recipe.variant}`,
      `--include=${recipe.packages.join(",")}`,
      recipe.suite,
      target,
      mirror,
    ]);
  } catch (error) {
    await rm(building, { recursive: true, force: true });
    throw new OperatorError(`debootstrap could not build the lab root filesystem: ${(error as Error).message}`, {
      hint: `check that ${mirror} is reachable (or set AIRSTRAP_LAB_DEBIAN_MIRROR to a Debian mirror inside your network)`,
      cause: error,
    });
  }
  if (recipe.install?.length) await installPackages(target, recipe.install);
  await customise(target, recipe);
  await writeFile(join(building, "recipe.json"), `${JSON.stringify(recipe, null, 2)}\n`);
  await writeFile(join(building, "complete"), `${new Date().toISOString()}\n`);
  await rename(building, home);
  events.emit({ level: "info", kind: "lab.rootfs.ready", message: `lab root filesystem ${hash} built` });
}

/** Runs a command inside the root (a plain container: no boot, this machine's network and resolver). */
export async function runInRoot(root: string, command: string[], options: { bind?: string[] } = {}): Promise<void> {
  await runCommand([
    "systemd-nspawn",
    "--quiet",
    "--pipe",
    "--register=no",
    "--keep-unit",
    `--directory=${root}`,
    "--resolv-conf=copy-host",
    "--timezone=off",
    "--link-journal=no",
    ...(options.bind ?? []).map((bind) => `--bind=${bind}`),
    "--setenv=DEBIAN_FRONTEND=noninteractive",
    // The kernel's postinst would build an initramfs for this root; the netboot one is made on purpose later.
    "--setenv=INITRD=No",
    ...command,
  ]);
}

async function installPackages(target: string, packages: string[]): Promise<void> {
  await runInRoot(target, ["apt-get", "install", "-y", "--no-install-recommends", ...packages]);
}

async function customise(target: string, recipe: RootfsRecipe): Promise<void> {
  // Hosts must not share SSH host keys, a hostname or a machine id: each gets its own at boot.
  const sshDir = join(target, "etc/ssh");
  for (const name of await readdir(sshDir)) {
    if (name.startsWith("ssh_host_")) await unlink(join(sshDir, name));
  }
  await rm(join(target, "etc/hostname"), { force: true });
  await writeFile(join(target, "etc/machine-id"), "");
  await rm(join(target, "var/lib/dbus/machine-id"), { force: true });
  await rm(join(target, "etc/resolv.conf"), { force: true });
  for (const [relative, file] of Object.entries(recipe.files)) {
    const path = join(target, relative);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, file.content);
    await chmod(path, file.mode);
  }
  await runCommand(["systemctl", `--root=${target}`, "enable", ...recipe.enable]);
  await runCommand(["systemctl", `--root=${target}`, "mask", ...recipe.mask]);
  await runCommand(["chroot", target, "apt-get", "clean"]);
}

/** An exclusive lock file holding the builder's PID; a lock left by a dead builder is taken over. */
export async function acquireLock(path: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      const handle = await open(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o644);
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
    if (Number.isInteger(holder) && holder > 0 && !processAlive(holder)) {
      await rm(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new OperatorError(`the lab root filesystem is locked by process ${holder} (${path})`, {
        hint: "wait for that build to finish, or remove the lock file if no such process runs",
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
