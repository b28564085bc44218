import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Events } from "../../events.js";
import { runCommand } from "../exec.js";
import { acquireLock, DEFAULT_CACHE_DIR, ensureRootfs, isComplete, runInRoot } from "../rootfs/build.js";
import { type NetbootRecipe, netbootHash, netbootRecipe } from "./recipe.js";

/** The three files of a PXE boot, as built: what the store and a static HTTP server serve. */
export interface NetbootImage {
  hash: string;
  kernel: string;
  initrd: string;
  /** A squashfs holding LiveOS/rootfs.img (the Fedora live layout dracut's dmsquash-live expects). */
  rootImage: string;
  /** The kernel release, e.g. 6.1.0-28-amd64. */
  kernelVersion: string;
  built: boolean;
}

export const NETBOOT_FILES = { kernel: "vmlinuz", initrd: "initrd.img", rootImage: "live.squashfs" } as const;

/** Returns the cached netboot image for the recipe, building it (and its root) first when there is none. */
export async function ensureNetbootImage(options: {
  recipe?: NetbootRecipe;
  cacheDir?: string;
  events: Events;
}): Promise<NetbootImage> {
  const recipe = options.recipe ?? netbootRecipe;
  const cacheDir = options.cacheDir ?? DEFAULT_CACHE_DIR;
  const hash = netbootHash(recipe);
  const home = join(cacheDir, `netboot-${hash}`);
  const image = async (built: boolean): Promise<NetbootImage> => ({
    hash,
    kernel: join(home, NETBOOT_FILES.kernel),
    initrd: join(home, NETBOOT_FILES.initrd),
    rootImage: join(home, NETBOOT_FILES.rootImage),
    kernelVersion: (await readFile(join(home, "kernel-version"), "utf8")).trim(),
    built,
  });
  if (await isComplete(home)) return image(false);
  const root = await ensureRootfs({ recipe: recipe.root, cacheDir, events: options.events });
  const release = await acquireLock(join(cacheDir, `netboot-${hash}.lock`));
  try {
    if (await isComplete(home)) return image(false);
    options.events.emit({
      level: "info",
      kind: "lab.netboot.build",
      message: `building the lab's netboot image ${hash} (kernel, dracut initramfs with Ignition, root squashfs; once, cached after)`,
    });
    await buildNetboot(home, root.path, recipe);
    options.events.emit({ level: "info", kind: "lab.netboot.ready", message: `lab netboot image ${hash} built` });
    return image(true);
  } finally {
    await release();
  }
}

async function buildNetboot(home: string, root: string, recipe: NetbootRecipe): Promise<void> {
  const building = `${home}.building`;
  await rm(building, { recursive: true, force: true });
  await mkdir(building, { recursive: true, mode: 0o755 });
  try {
    const versions = await readdir(join(root, "lib/modules"));
    const kernelVersion = versions.sort().at(-1);
    if (!kernelVersion) throw new Error(`the netboot root ${root} has no kernel modules (lib/modules is empty)`);
    await copyFile(join(root, "boot", `vmlinuz-${kernelVersion}`), join(building, NETBOOT_FILES.kernel));
    await runInRoot(
      root,
      [
        "dracut",
        "--quiet",
        "--force",
        "--no-hostonly",
        "--add",
        recipe.dracutModules.join(" "),
        "--omit",
        recipe.dracutOmit.join(" "),
        ...Object.entries(recipe.dracutInclude).flatMap(([source, target]) => ["--include", source, target]),
        "--kver",
        kernelVersion,
        `/out/${NETBOOT_FILES.initrd}`,
      ],
      { bind: [`${building}:/out`] },
    );
    await makeRootImage(root, building);
    await writeFile(join(building, "kernel-version"), `${kernelVersion}\n`);
    await writeFile(join(building, "recipe.json"), `${JSON.stringify(recipe, null, 2)}\n`);
    await writeFile(join(building, "complete"), `${new Date().toISOString()}\n`);
    await rm(home, { recursive: true, force: true });
    await rename(building, home);
  } catch (error) {
    await rm(building, { recursive: true, force: true });
    throw error;
  }
}

/**
 * LiveOS/rootfs.img (ext4 made from the root) inside a squashfs: the layout dmsquash-live mounts with
 * a writable snapshot. A squashfs holding the root directly needs rd.live.overlay.overlayfs, which
 * fails in Debian's dracut 059.
 */
async function makeRootImage(root: string, building: string): Promise<void> {
  const live = join(building, "live");
  await mkdir(join(live, "LiveOS"), { recursive: true });
  const { stdout } = await runCommand(["du", "-sx", "--block-size=1M", root]);
  const usedMiB = Number.parseInt(stdout, 10);
  // Room for what the first boot writes (Ignition's files, logs) before anything lands in the snapshot.
  const sizeMiB = Math.ceil(usedMiB * 1.25) + 256;
  const image = join(live, "LiveOS", "rootfs.img");
  await runCommand(["truncate", "-s", `${sizeMiB}M`, image]);
  await runCommand(["mkfs.ext4", "-q", "-L", "airstrap-netboot", "-d", root, image]);
  await runCommand([
    "mksquashfs",
    live,
    join(building, NETBOOT_FILES.rootImage),
    "-comp",
    "zstd",
    "-noappend",
    "-quiet",
    // The machine is shared: one compressor thread.
    "-processors",
    "1",
  ]);
  await rm(live, { recursive: true, force: true });
}
