import { OperatorError } from "../errors.js";
import type { StateDir } from "../state/state-dir.js";
import type { LabNames } from "./names.js";
import type { LabHostSpec } from "./spec.js";
import type { VmFirmware } from "./vm.js";

/** What `lab up` started, so that every later command (and `lab down`) acts on exactly that, by PID. */
export interface LabState {
  name: string;
  names: LabNames;
  bootstrapAddress: string;
  subnets: string[];
  rootfs: string;
  domain?: string;
  hosts: LabHostState[];
  /** Long-running helper processes on this machine (the release mirror). */
  helpers: Array<{ name: string; pid: number; url?: string }>;
  createdAt: string;
}

export interface LabHostState extends LabHostSpec {
  index: number;
  machine: string;
  /** systemd-nspawn's PID while the host runs; for a VM, qemu's while it is powered on. */
  pid?: number;
  /** A PXE machine (see vm.ts): its tap on the bridge, qemu's monitor socket and its blank data disk. */
  vm?: { tap: string; monitor: string; firmware: VmFirmware; dataDisk?: string };
  partitioned: boolean;
  hostKey: string;
}

export const LAB_STATE_FILE = "lab/lab.json";
export const LAB_IDENTITY_FILE = "lab/id_ed25519";

export function hostFilesDir(state: StateDir, host: string): string {
  return state.file(`lab/hosts/${host}`);
}

export function consoleLogPath(state: StateDir, host: string): string {
  return state.file(`lab/logs/${host}.console.log`);
}

export function vmMonitorPath(state: StateDir, host: string): string {
  return state.file(`lab/vms/${host}.monitor`);
}

export async function readLabState(state: StateDir): Promise<LabState | undefined> {
  const text = await state.read(LAB_STATE_FILE);
  return text === undefined ? undefined : (JSON.parse(text) as LabState);
}

export async function writeLabState(state: StateDir, lab: LabState): Promise<void> {
  await state.write(LAB_STATE_FILE, `${JSON.stringify(lab, null, 2)}\n`);
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

export function requireHost(lab: LabState, name: string): LabHostState {
  const host = lab.hosts.find((candidate) => candidate.name === name);
  if (!host) {
    throw new OperatorError(`lab ${lab.name} has no host named ${name}`, {
      hint: `its hosts are: ${lab.hosts.map((candidate) => candidate.name).join(", ")}`,
    });
  }
  return host;
}
