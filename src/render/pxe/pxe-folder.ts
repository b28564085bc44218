import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { OperatorError } from "../../errors.js";
import { silentEvents } from "../../events.js";
import { ensureHostKey } from "../../hosts/host-keys.js";
import { openKnownHosts } from "../../hosts/known-hosts.js";
import { readPublicKey } from "../../hosts/public-key.js";
import { bufferSource, fileSource } from "../../hosts/upload-source.js";
import { expandPath } from "../../manifest/load.js";
import type { Plan } from "../../plan/types.js";
import { ensureSiteCa } from "../../services/registry/tls.js";
import type { StateDir } from "../../state/state-dir.js";
import { renderPlanJson } from "../host-files.js";
import type { IgnitionTemplate } from "../ignition/template.js";
import { type GeneratedFile, renderPxeFiles } from "./pxe-files.js";
import type { PxeInputs } from "./variables.js";

/**
 * The Matchbox folder of `airstrap generate`: its inputs read from this machine, then rendered.
 * `templates` (the --templates flag, relative to the working folder) wins over the manifest's
 * (relative to the manifest). Nothing when no host boots over PXE.
 */
export async function renderPxeFolder(options: {
  plan: Plan;
  token: string;
  state: StateDir;
  manifestDir: string;
  templates?: string;
  /** The executable the hosts will fetch, to pin its SHA-256 in the fetch unit. */
  executable?: string;
}): Promise<GeneratedFile[]> {
  const { plan } = options;
  if (!plan.pxe || plan.pxe.hosts.length === 0) return [];
  const planJson = renderPlanJson(plan);
  const inputs = await gatherPxeInputs({ ...options, planJson });
  const templates = options.templates ?? plan.pxe.templates;
  const overrides =
    templates === undefined
      ? new Map<string, IgnitionTemplate>()
      : await readTemplateOverrides(templates, options.templates ? process.cwd() : options.manifestDir);
  return renderPxeFiles(plan, planJson, inputs, overrides);
}

/**
 * Reads what the PXE renderers need from this machine: the operator's public key, the site CA
 * (made in the state dir on first use, the same CA the registry's certificates come from), each
 * PXE host's SSH host key (made once and pinned in known_hosts, so the first connection is
 * already checked), and the SHA-256 of the executable the hosts will fetch.
 */
export async function gatherPxeInputs(options: {
  plan: Plan;
  planJson: string;
  token: string;
  state: StateDir;
  manifestDir: string;
  executable?: string;
}): Promise<PxeInputs> {
  const { plan } = options;
  const identities = new Set(plan.pxe?.hosts.map((h) => plan.hosts.find((p) => p.name === h.name)?.ssh.identityFile));
  if (identities.size > 1)
    throw new OperatorError("hosts booted over PXE log in with different SSH identities", {
      hint: "Ignition gets one public key: use spec.ssh.identityFile for every host that has a mac",
    });
  const [identity] = identities;
  const { caFile } = await ensureSiteCa(options.state.path);
  const knownHosts = openKnownHosts(options.state, silentEvents);
  const hostKeys: Record<string, { private: string; public: string }> = {};
  for (const pxeHost of plan.pxe?.hosts ?? []) {
    const key = await ensureHostKey(options.state, pxeHost.name);
    const port = plan.hosts.find((h) => h.name === pxeHost.name)?.ssh.port ?? 22;
    // Throws, naming `airstrap hosts forget`, if another key is pinned for this host already.
    await knownHosts.verify({ name: pxeHost.name, address: pxeHost.address, port }, key.blob);
    hostKeys[pxeHost.name] = { private: key.private, public: key.public };
  }
  return {
    hostKeys,
    token: options.token,
    sshPublicKey: await readPublicKey(identity, options.manifestDir),
    siteCa: await readFile(caFile, "utf8"),
    planSha256: bufferSource(options.planJson).sha256,
    ...(options.executable === undefined ? {} : { executableSha256: (await fileSource(options.executable)).sha256 }),
  };
}

/** Every file of a templates folder (dot files aside), by name; the renderer refuses names that replace nothing. */
export async function readTemplateOverrides(dir: string, manifestDir: string): Promise<Map<string, IgnitionTemplate>> {
  const full = expandPath(dir, manifestDir);
  let names: string[];
  try {
    names = (await readdir(full, { withFileTypes: true }))
      .filter((entry) => entry.isFile() && !entry.name.startsWith("."))
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    throw new OperatorError(`templates folder ${full}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, {
      hint: "name a folder of template files with --templates DIR or spec.provisioning.pxe.templates",
    });
  }
  const overrides = new Map<string, IgnitionTemplate>();
  for (const name of names) {
    const path = join(full, name);
    overrides.set(name, { origin: path, text: await readFile(path, "utf8") });
  }
  return overrides;
}
