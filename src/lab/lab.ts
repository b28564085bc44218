import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { Events } from "../events.js";
import type { StateDir } from "../state/state-dir.js";
import { launchHost, READY_TIMEOUT_MS, requireSsh } from "./boot.js";
import { removeHostCgroups } from "./cgroups.js";
import { containerMachine, findLabContainers, isOurContainer, stopContainer } from "./container.js";
import { labDisksDir, removeLabDisks } from "./disk.js";
import { findProcesses, processAlive, processCommandLine, waitForExit } from "./exec.js";
import { labStart } from "./host-actions.js";
import { writeHostFiles } from "./host-files.js";
import { ensureLabIdentity } from "./identity.js";
import { startMirrorHelper } from "./mirror-helper.js";
import { hostMachine, type LabNames, labNames } from "./names.js";
import { checkAddressesFree, createSiteNetwork, removeSiteNetwork } from "./network.js";
import { checkPrerequisites } from "./prerequisites.js";
import { ensureRootfs } from "./rootfs/build.js";
import { defaultRecipe } from "./rootfs/recipe.js";
import { LAB_PREFIX_LENGTH, type LabHostSpec, type LabSpec, labSubnets } from "./spec.js";
import {
  hostFilesDir,
  LAB_IDENTITY_FILE,
  LAB_STATE_FILE,
  type LabHostState,
  type LabState,
  readLabState,
  requireLab,
  vmMonitorPath,
  writeLabState,
} from "./state.js";
import { type LabStatus, labStatus } from "./status.js";
import { createVmDataDisk, createVmTap, isOurVm, powerOffVm, vmProcessName } from "./vm.js";

export { labHeal, labKill, labPartition, labStart, labStop } from "./host-actions.js";
export { requireLab } from "./state.js";

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
    if (sameSite(existing, spec) && existing.hosts.some(isRunning)) {
      // Machines that boot from the network keep their power state: powering them on is the operator's move.
      for (const host of existing.hosts.filter((candidate) => !candidate.vm)) await labStart(state, host.name, events);
      await ensureMirror(options, state);
      return labStatus((await readLabState(state)) ?? existing);
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
  // A fresh site: hosts start from clean disks, whatever an earlier lab of this name left.
  await removeLabDisks(names.tag);
  // Recorded before anything is created, so that lab down can undo a half-finished up.
  await writeLabState(state, lab);
  try {
    await createSiteNetwork(site);
    await ensureMirror(options, state);
    lab.helpers = (await requireLab(state)).helpers;
    for (const [index, host] of spec.hosts.entries()) {
      const { machine, tap } = hostMachine(names, index);
      if (host.pxe) {
        await createVmTap(names.netns, names.bridge, tap);
        // Beside the containers' disks: lab down (and the next up) deletes it with them.
        const dataDisk = join(labDisksDir(names.tag), host.name, "data.raw");
        await createVmDataDisk(dataDisk);
        const vm = { tap, monitor: vmMonitorPath(state, host.name), firmware: "bios" as const, dataDisk };
        lab.hosts.push({ ...host, index, machine, partitioned: false, hostKey: "", vm });
        continue;
      }
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
      lab.hosts.push({ ...host, index, machine, partitioned: false, hostKey });
    }
    await writeLabState(state, lab);
    const containers = lab.hosts.filter((host) => !host.vm);
    for (const host of lab.hosts.filter((candidate) => candidate.vm)) {
      events.emit({
        level: "info",
        kind: "lab.host.off",
        host: host.name,
        message: `no OS, powered off; boots from the network as ${host.pxe?.mac} after lab power on`,
      });
    }
    for (const host of containers) {
      host.pid = await launchHost(state, lab, host);
      await writeLabState(state, lab);
      events.emit({ level: "info", kind: "lab.host.start", host: host.name, message: `started at ${host.address}` });
    }
    await requireSsh(state, lab, options.readyTimeoutMs ?? READY_TIMEOUT_MS, containers);
  } catch (error) {
    await labDown(state, events);
    throw error;
  }
  return labStatus(lab);
}

const MIRROR_HELPER = "release mirror (simulated distro)";

/** Starts the release mirror unless it runs already (an idempotent up after it died restarts it). */
async function ensureMirror(options: LabUpOptions, state: StateDir): Promise<void> {
  const { spec, selfCommand } = options;
  const lab = await requireLab(state);
  if (!spec.distro || !selfCommand) return;
  const running = lab.helpers.find((helper) => helper.name === MIRROR_HELPER && isOurHelper(helper.pid));
  if (running) return;
  const mirror = await startMirrorHelper({
    root: state.file("lab/mirror"),
    bootstrapAddress: spec.bootstrapAddress,
    distro: spec.distro,
    command: selfCommand,
    log: state.file("lab/logs/mirror.log"),
  });
  lab.helpers = [...lab.helpers.filter((helper) => helper.name !== MIRROR_HELPER), { name: MIRROR_HELPER, ...mirror }];
  await writeLabState(state, lab);
}

function isOurHelper(pid: number): boolean {
  return processAlive(pid) && processCommandLine(pid)?.includes("lab-distro") === true;
}

function isRunning(host: LabHostState): boolean {
  return host.vm ? isOurVm(host.pid, host.machine) : isOurContainer(host.pid, host.machine);
}

function sameSite(lab: LabState, spec: LabSpec): boolean {
  const key = (host: LabHostSpec) =>
    `${host.name}/${host.address}/${host.role}/${host.sshUser}/${host.sshPort}/${host.pxe?.mac ?? "container"}`;
  const wanted = spec.hosts.map(key).join(",");
  const have = lab.hosts.map(key).join(",");
  return lab.name === spec.name && lab.bootstrapAddress === spec.bootstrapAddress && wanted === have;
}

/** Stops every process the lab started (by PID), removes its links and namespace. Idempotent. */
export async function labDown(
  state: StateDir,
  events: Events,
  options: { name?: string } = {},
): Promise<{ stopped: number }> {
  const lab = await readLabState(state);
  if (!lab) return options.name ? removeLeftovers(state, labNames(options.name)) : { stopped: 0 };
  let stopped = 0;
  await Promise.all(
    lab.hosts.map(async (host) => {
      if (host.vm) {
        if (!isOurVm(host.pid, host.machine)) return;
        await powerOffVm(host.pid, host.machine, host.vm.monitor);
        stopped++;
        events.emit({ level: "info", kind: "lab.host.power", host: host.name, message: "powered off" });
        return;
      }
      if (!isOurContainer(host.pid, host.machine)) return;
      await stopContainer(host.pid, host.machine);
      stopped++;
      events.emit({ level: "info", kind: "lab.host.stop", host: host.name, message: "stopped" });
    }),
  );
  for (const helper of lab.helpers) {
    if (!isOurHelper(helper.pid)) continue;
    process.kill(helper.pid, "SIGTERM");
    if (!(await waitForExit(helper.pid, 5_000))) process.kill(helper.pid, "SIGKILL");
    stopped++;
  }
  stopped += (await removeLeftovers(state, lab.names)).stopped;
  await rm(state.file(LAB_STATE_FILE), { force: true });
  await rm(state.file("lab/hosts"), { recursive: true, force: true });
  await rm(state.file("lab/mirror"), { recursive: true, force: true });
  await rm(state.file("lab/vms"), { recursive: true, force: true });
  events.emit({ level: "info", kind: "lab.down", message: `lab ${lab.name} removed` });
  return { stopped };
}

/**
 * What a lab of these names left behind even without its state file (deleted by hand, or an up
 * killed midway): its containers by machine tag, its mirror by the folder it serves, its links.
 */
async function removeLeftovers(state: StateDir, names: LabNames): Promise<{ stopped: number }> {
  let stopped = 0;
  for (const pid of findLabContainers(names.tag)) {
    const machine = containerMachine(pid);
    if (!machine) continue;
    await stopContainer(pid, machine, 10_000);
    stopped++;
  }
  const vmName = vmProcessName(`${names.tag}-h`);
  for (const pid of findProcesses(
    (commandLine) =>
      commandLine[0]?.endsWith("qemu-system-x86_64") === true && commandLine.some((part) => part.startsWith(vmName)),
  )) {
    process.kill(pid, "SIGKILL");
    await waitForExit(pid, 5_000);
    stopped++;
  }
  const mirrorRoot = state.file("lab/mirror");
  for (const pid of findProcesses(
    (commandLine) => commandLine.includes("lab-distro") && commandLine.includes(mirrorRoot),
  )) {
    process.kill(pid, "SIGTERM");
    if (!(await waitForExit(pid, 5_000))) process.kill(pid, "SIGKILL");
    stopped++;
  }
  removeHostCgroups((machine) => machine.startsWith(`${names.tag}-h`));
  await removeLabDisks(names.tag);
  await removeSiteNetwork(names);
  return { stopped };
}

export async function currentLabStatus(state: StateDir): Promise<LabStatus> {
  return labStatus(await requireLab(state));
}
