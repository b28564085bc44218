import { readFile, rm } from "node:fs/promises";
import { OperatorError } from "../errors.js";
import type { Events } from "../events.js";
import type { StateDir } from "../state/state-dir.js";
import { findLabContainers, isOurContainer, killContainer, startContainer, stopContainer } from "./container.js";
import { processAlive, processCommandLine, waitForExit } from "./exec.js";
import { writeHostFiles } from "./host-files.js";
import { ensureLabIdentity } from "./identity.js";
import { startMirrorHelper } from "./mirror-helper.js";
import { hostMachine, labNames } from "./names.js";
import { checkAddressesFree, createSiteNetwork, hostAttached, removeSiteNetwork, setHostAttached } from "./network.js";
import { checkPrerequisites } from "./prerequisites.js";
import { waitForSsh } from "./probe.js";
import { ensureRootfs } from "./rootfs/build.js";
import { defaultRecipe } from "./rootfs/recipe.js";
import { LAB_PREFIX_LENGTH, type LabHostSpec, type LabSpec, labSubnets } from "./spec.js";
import {
  consoleLogPath,
  hostFilesDir,
  LAB_IDENTITY_FILE,
  LAB_STATE_FILE,
  type LabHostState,
  type LabState,
  readLabState,
  writeLabState,
} from "./state.js";
import { type LabStatus, labStatus } from "./status.js";

/** Hosts answer SSH in 1-2 s on an idle machine; the bound is for a machine loaded by other work. */
const READY_TIMEOUT_MS = 120_000;

export interface LabUpOptions {
  spec: LabSpec;
  state: StateDir;
  events: Events;
  /** Public keys authorised on every host besides the lab's own identity (e.g. the manifest's). */
  extraAuthorizedKeys?: string[];
  cacheDir?: string;
  readyTimeoutMs?: number;
  /** How to run airstrap itself for the release mirror; without it no mirror is started. */
  selfCommand?: string[];
}

/** Builds the site (idempotent: an identical lab that is already up only gets its stopped hosts started). */
export async function labUp(options: LabUpOptions): Promise<LabStatus> {
  const { spec, state, events } = options;
  await checkPrerequisites();
  const existing = await readLabState(state);
  if (existing) {
    if (sameSite(existing, spec) && existing.hosts.some((host) => isOurContainer(host.pid, host.machine))) {
      for (const host of existing.hosts) await labStart(state, host.name, events);
      return labStatus(existing);
    }
    await labDown(state, events);
  }
  const identity = await ensureLabIdentity(state.file(LAB_IDENTITY_FILE));
  const authorizedKeys = [identity, ...(options.extraAuthorizedKeys ?? []).filter((key) => key !== identity)];
  const rootfs = await ensureRootfs({
    recipe: defaultRecipe,
    events,
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
  });
  const names = labNames(spec.name);
  const lab: LabState = {
    name: spec.name,
    names,
    bootstrapAddress: spec.bootstrapAddress,
    subnets: labSubnets(spec),
    rootfs: rootfs.path,
    ...(spec.domain ? { domain: spec.domain } : {}),
    hosts: [],
    helpers: [],
    createdAt: new Date().toISOString(),
  };
  const site = { names, bootstrapAddress: spec.bootstrapAddress, subnets: lab.subnets };
  await checkAddressesFree(site);
  // Recorded before anything is created, so that lab down can undo a half-finished up.
  await writeLabState(state, lab);
  try {
    await createSiteNetwork(site);
    if (spec.distro && options.selfCommand) {
      const mirror = await startMirrorHelper({
        root: state.file("lab/mirror"),
        bootstrapAddress: spec.bootstrapAddress,
        distro: spec.distro,
        command: options.selfCommand,
        log: state.file("lab/logs/mirror.log"),
      });
      lab.helpers.push({ name: "release mirror (simulated distro)", ...mirror });
      await writeLabState(state, lab);
    }
    for (const [index, host] of spec.hosts.entries()) {
      const hostKey = await writeHostFiles(hostFilesDir(state, host.name), {
        name: host.name,
        address: host.address,
        prefixLength: LAB_PREFIX_LENGTH,
        bootstrapAddress: spec.bootstrapAddress,
        ...(spec.domain ? { domain: spec.domain } : {}),
        authorizedKeys,
        sshUser: host.sshUser,
        sshPort: host.sshPort,
      });
      const { machine } = hostMachine(names, index);
      lab.hosts.push({ ...host, index, machine, partitioned: false, hostKey });
    }
    for (const host of lab.hosts) {
      host.pid = launch(state, lab, host);
      await writeLabState(state, lab);
      events.emit({ level: "info", kind: "lab.host.start", host: host.name, message: `started at ${host.address}` });
    }
    await requireSsh(state, lab, options.readyTimeoutMs ?? READY_TIMEOUT_MS);
  } catch (error) {
    await labDown(state, events);
    throw error;
  }
  return labStatus(lab);
}

function sameSite(lab: LabState, spec: LabSpec): boolean {
  const key = (host: LabHostSpec) => `${host.name}/${host.address}/${host.role}/${host.sshUser}/${host.sshPort}`;
  const wanted = spec.hosts.map(key).join(",");
  const have = lab.hosts.map(key).join(",");
  return lab.name === spec.name && lab.bootstrapAddress === spec.bootstrapAddress && wanted === have;
}

function launch(state: StateDir, lab: LabState, host: LabHostState): number {
  return startContainer({
    netns: lab.names.netns,
    bridge: lab.names.bridge,
    rootfs: lab.rootfs,
    machine: host.machine,
    hostname: host.name,
    hostFilesDir: hostFilesDir(state, host.name),
    consoleLog: consoleLogPath(state, host.name),
  });
}

async function requireSsh(state: StateDir, lab: LabState, timeoutMs: number, only?: LabHostState[]): Promise<void> {
  const hosts = (only ?? lab.hosts).filter((host) => !host.partitioned);
  const silent = await waitForSsh(
    hosts.map((host) => ({ address: host.address, port: host.sshPort })),
    timeoutMs,
  );
  if (silent.length === 0) return;
  const host = lab.hosts.find((candidate) => candidate.address === silent[0]?.address)!;
  const log = consoleLogPath(state, host.name);
  const tail = (await readFile(log, "utf8").catch(() => "")).trim().split("\n").slice(-8).join("\n");
  throw new OperatorError(
    `lab host ${host.name} (${host.address}) did not answer SSH within ${Math.round(timeoutMs / 1000)} s${tail ? `; its console said:\n${tail}` : ""}`,
    {
      hint: `its whole console log is ${log}; hosts that did not answer: ${silent.map((peer) => peer.address).join(", ")}`,
    },
  );
}

/** Stops every process the lab started (by PID), removes its links and namespace. Idempotent. */
export async function labDown(state: StateDir, events: Events): Promise<{ stopped: number }> {
  const lab = await readLabState(state);
  if (!lab) return { stopped: 0 };
  let stopped = 0;
  await Promise.all(
    lab.hosts.map(async (host) => {
      if (!isOurContainer(host.pid, host.machine)) return;
      await stopContainer(host.pid, host.machine);
      stopped++;
      events.emit({ level: "info", kind: "lab.host.stop", host: host.name, message: "stopped" });
    }),
  );
  for (const helper of lab.helpers) {
    if (!processAlive(helper.pid) || !processCommandLine(helper.pid)?.includes("lab-distro")) continue;
    process.kill(helper.pid, "SIGTERM");
    if (!(await waitForExit(helper.pid, 5_000))) process.kill(helper.pid, "SIGKILL");
    stopped++;
  }
  // A container whose PID the state lost (an up killed midway) is still found by its machine tag.
  for (const pid of findLabContainers(lab.names.tag)) {
    const machine = lab.hosts.find((host) => isOurContainer(pid, host.machine))?.machine;
    if (machine) await killContainer(pid, machine);
  }
  await removeSiteNetwork(lab.names);
  await rm(state.file(LAB_STATE_FILE), { force: true });
  await rm(state.file("lab/hosts"), { recursive: true, force: true });
  await rm(state.file("lab/mirror"), { recursive: true, force: true });
  events.emit({ level: "info", kind: "lab.down", message: `lab ${lab.name} removed` });
  return { stopped };
}

export async function requireLab(state: StateDir): Promise<LabState> {
  const lab = await readLabState(state);
  if (!lab) {
    throw new OperatorError(`no lab is up for this manifest (nothing in ${state.file(LAB_STATE_FILE)})`, {
      hint: "start it with: airstrap lab up -f cluster.yaml",
    });
  }
  return lab;
}

function requireHost(lab: LabState, name: string): LabHostState {
  const host = lab.hosts.find((candidate) => candidate.name === name);
  if (!host) {
    throw new OperatorError(`lab ${lab.name} has no host named ${name}`, {
      hint: `its hosts are: ${lab.hosts.map((candidate) => candidate.name).join(", ")}`,
    });
  }
  return host;
}

/** Shuts a host down cleanly (its systemd powers off), as `systemctl poweroff` would. */
export async function labStop(state: StateDir, name: string, events: Events): Promise<void> {
  const lab = await requireLab(state);
  const host = requireHost(lab, name);
  if (isOurContainer(host.pid, host.machine)) await stopContainer(host.pid, host.machine);
  delete host.pid;
  await writeLabState(state, lab);
  events.emit({ level: "info", kind: "lab.host.stop", host: name, message: "stopped" });
}

/** Cuts the power: every process of the host dies at once, nothing is shut down cleanly. */
export async function labKill(state: StateDir, name: string, events: Events): Promise<void> {
  const lab = await requireLab(state);
  const host = requireHost(lab, name);
  if (isOurContainer(host.pid, host.machine)) await killContainer(host.pid, host.machine);
  delete host.pid;
  await writeLabState(state, lab);
  events.emit({ level: "warn", kind: "lab.host.kill", host: name, message: "killed" });
}

/** Boots a stopped host again, with the same host key and a fresh throwaway layer. */
export async function labStart(
  state: StateDir,
  name: string,
  events: Events,
  readyTimeoutMs = READY_TIMEOUT_MS,
): Promise<void> {
  const lab = await requireLab(state);
  const host = requireHost(lab, name);
  if (isOurContainer(host.pid, host.machine)) return;
  host.pid = launch(state, lab, host);
  await writeLabState(state, lab);
  if (host.partitioned) await waitForLinkThenDetach(lab, host);
  events.emit({ level: "info", kind: "lab.host.start", host: name, message: `started at ${host.address}` });
  await requireSsh(state, lab, readyTimeoutMs, [host]);
}

async function waitForLinkThenDetach(lab: LabState, host: LabHostState): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await hostAttached(lab.names, host.index)) === undefined && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await setHostAttached(lab.names, host.index, false);
}

/** Unplugs the host from the site: it keeps running but reaches nothing and nothing reaches it. */
export async function labPartition(state: StateDir, name: string, events: Events): Promise<void> {
  await setPartitioned(state, name, true);
  events.emit({ level: "warn", kind: "lab.host.partition", host: name, message: "cut off the site" });
}

export async function labHeal(state: StateDir, name: string, events: Events): Promise<void> {
  await setPartitioned(state, name, false);
  events.emit({ level: "info", kind: "lab.host.heal", host: name, message: "back on the site" });
}

async function setPartitioned(state: StateDir, name: string, partitioned: boolean): Promise<void> {
  const lab = await requireLab(state);
  const host = requireHost(lab, name);
  host.partitioned = partitioned;
  await writeLabState(state, lab);
  await setHostAttached(lab.names, host.index, !partitioned);
}

export async function currentLabStatus(state: StateDir): Promise<LabStatus> {
  return labStatus(await requireLab(state));
}
