import { copyFile, mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { findFile, readArtifactIndex } from "../artifacts/artifact-index.js";
import { CUSTOM_OS_SET, IPXE_BIOS_NBP, IPXE_UEFI_NBP } from "../artifacts/boot-catalog.js";
import { OperatorError } from "../errors.js";
import { PXE_ASSETS } from "../plan/pxe.js";
import type { Plan } from "../plan/types.js";
import { generateSite } from "../render/generate-site.js";
import { MATCHBOX_DIR } from "../render/pxe/pxe-files.js";
import type { PxeSite } from "../services/pxe/config.js";
import { requirePxe } from "../services/pxe/config.js";
import type { StateDir } from "../state/state-dir.js";
import { openBlobStore } from "../store/blob-store.js";

/**
 * Lays out what the boot services serve, in `dir` (inside the state dir: the Ignition configs hold
 * the join token): the generated tree with its Matchbox folder, the TFTP folder with the iPXE
 * binaries, and the map from each /assets/ name the plan's hosts fetch to the file that answers it
 * (the OS from the artifact store, airstrap's executable, the plan, airstrap's extra initrd). Everything a host will ask
 * for is checked here, so a missing file stops `serve` before any machine is told to boot.
 */
export async function prepareBootSite(options: {
  plan: Plan;
  state: StateDir;
  manifestDir: string;
  manifestText: string;
  storeRoot: string;
  dir: string;
  templates?: string;
  nodeBinary?: string;
}): Promise<PxeSite & { executable: string }> {
  const { plan, dir } = options;
  const pxe = requirePxe(plan);
  const generatedDir = join(dir, "generated");
  const { executable } = await generateSite({
    plan,
    state: options.state,
    manifestDir: options.manifestDir,
    manifestText: options.manifestText,
    outputDir: generatedDir,
    requireExecutable: true,
    ...(options.templates === undefined ? {} : { templates: options.templates }),
    ...(options.nodeBinary === undefined ? {} : { nodeBinary: options.nodeBinary }),
  });
  const store = await openBlobStore(options.storeRoot);
  const index = await readArtifactIndex(store.root);
  const arch = plan.distro.arch;
  const missing: string[] = [];
  const fromStore = (set: { distro: string; version: string }, name: string): string | undefined => {
    const record = findFile(index, { ...set, arch, name });
    if (!record) missing.push(`${set.distro} ${name}`);
    return record ? store.blobPath(record.digest) : undefined;
  };

  const assets = new Map<string, string>();
  const matchboxDir = join(generatedDir, MATCHBOX_DIR);
  const urls = pxe.hosts[0]?.urls;
  const prefix = `${pxe.bootUrl}/assets/`;
  const names = urls
    ? [urls.kernel, ...urls.initrd, ...(urls.rootImage ? [urls.rootImage] : []), urls.executable, urls.plan]
    : [];
  for (const url of names) {
    const name = url.slice(prefix.length);
    const path =
      name === PXE_ASSETS.plan || name === PXE_ASSETS.initrdReport
        ? join(matchboxDir, "assets", name)
        : name === PXE_ASSETS.executable(arch)
          ? executable
          : pxe.os.kind === "flatcar"
            ? fromStore({ distro: "flatcar", version: pxe.os.version }, name.slice(name.lastIndexOf("/") + 1))
            : fromStore(CUSTOM_OS_SET, name);
    if (path) assets.set(name, path);
  }

  const tftpRoot = join(dir, "tftp");
  await rm(tftpRoot, { recursive: true, force: true });
  await mkdir(tftpRoot, { recursive: true, mode: 0o755 });
  for (const name of [IPXE_BIOS_NBP, IPXE_UEFI_NBP]) {
    const path = fromStore({ distro: "ipxe", version: "1" }, name);
    if (path) await copyFile(path, join(tftpRoot, name));
  }
  if (missing.length > 0) {
    throw new OperatorError(`the artifact store ${store.root} lacks what PXE hosts boot: ${missing.join(", ")}`, {
      hint: "run airstrap artifacts pull -f cluster.yaml on the connected side (or load a bundle that carries them)",
    });
  }
  if (!executable) throw new Error("generateSite returned no executable although one was required");
  return {
    dataDir: matchboxDir,
    tftpRoot,
    assets: { kind: "resolver", resolve: async (name) => assets.get(name) },
    executable,
  };
}
