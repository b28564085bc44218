import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import type { Events } from "../events.js";
import { expandPath, loadManifest } from "../manifest/load.js";
import { openStateDir, type StateDir, stateDirBeside } from "../state/state-dir.js";
import { ensureLabIdentity } from "./identity.js";
import { labUp } from "./lab.js";
import { labBuildCommand } from "./lab-build.js";
import { isValidLabName } from "./names.js";
import { checkPrerequisites } from "./prerequisites.js";
import { labSpecFromManifest } from "./spec.js";
import { LAB_IDENTITY_FILE } from "./state.js";
import type { LabStatus } from "./status.js";

export interface LabCommandOptions {
  file: string;
  stateDir?: string;
  events: Events;
}

/** The state dir of the manifest's lab; every lab command needs what the lab needs (root, programs). */
export async function openLabState(options: { file: string; stateDir?: string }): Promise<StateDir> {
  await checkPrerequisites();
  return openStateDir(options.stateDir ?? stateDirBeside(options.file));
}

/**
 * `lab up -f cluster.yaml`. The lab identity is made before the manifest is loaded, so a manifest
 * may name it as its ssh.identityFile (.airstrap/lab/id_ed25519) before it exists.
 */
export async function labUpFromManifest(
  options: LabCommandOptions & { cacheDir?: string; selfCommand?: string[] },
): Promise<LabStatus> {
  // Checks the prerequisites first, so a missing program is reported as such, not halfway through.
  const state = await openLabState(options);
  await ensureLabIdentity(state.file(LAB_IDENTITY_FILE));
  const loaded = await loadManifest(options.file);
  const spec = labSpecFromManifest(loaded.manifest, options.file);
  const extraAuthorizedKeys = await manifestPublicKeys(
    loaded.manifest.hosts.map((host) => host.ssh.identityFile),
    loaded.dir,
  );
  return labUp({
    spec,
    state,
    events: options.events,
    extraAuthorizedKeys,
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
    selfCommand: options.selfCommand ?? labBuildCommand(),
  });
}

/** The public halves (<key>.pub) of the identities the manifest's SSH settings name, where present. */
async function manifestPublicKeys(identityFiles: Array<string | undefined>, baseDir: string): Promise<string[]> {
  const keys = new Set<string>();
  for (const file of new Set(identityFiles)) {
    if (!file) continue;
    const text = await readFile(`${expandPath(file, baseDir)}.pub`, "utf8").catch(() => undefined);
    if (text?.trim()) keys.add(text.trim());
  }
  return [...keys];
}

/** metadata.name, read leniently: `lab down` must work even when the manifest no longer validates. */
export async function labNameOf(file: string): Promise<string | undefined> {
  try {
    const document = parseYaml(await readFile(file, "utf8")) as { metadata?: { name?: unknown } } | null;
    const name = document?.metadata?.name;
    return typeof name === "string" && isValidLabName(name) ? name : undefined;
  } catch {
    return undefined;
  }
}
