import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { hostCgroups } from "./cgroups.js";
import { findProcesses, processAlive, processCommandLine, waitForExit } from "./exec.js";

export interface ContainerLaunch {
  netns: string;
  bridge: string;
  /** The host's own root directory (its disk: see disk.ts). */
  root: string;
  machine: string;
  hostname: string;
  /** Bind-mounted read-only at /etc/airstrap-lab: the host's own address, keys and resolver. */
  hostFilesDir: string;
  consoleLog: string;
}

/**
 * Boots one host as a systemd-nspawn container inside the site's namespace and returns nspawn's
 * PID. `nsenter --net` rather than `ip netns exec` (which remounts /sys without cgroups), and
 * --register=no --keep-unit because this machine has no systemd to register with.
 */
export function startContainer(launch: ContainerLaunch): number {
  mkdirSync(dirname(launch.consoleLog), { recursive: true, mode: 0o700 });
  const log = openSync(launch.consoleLog, "a", 0o600);
  try {
    // The shell moves itself into the host's own cgroups, then becomes nsenter, then nspawn (one PID).
    const child = spawn(
      "sh",
      [
        "-c",
        'for dir in $AIRSTRAP_LAB_CGROUPS; do mkdir -p "$dir" && echo $$ > "$dir/cgroup.procs" || exit 125; done; exec "$@"',
        "airstrap-lab-host",
        "nsenter",
        `--net=/run/netns/${launch.netns}`,
        "systemd-nspawn",
        "--quiet",
        "--boot",
        "--register=no",
        "--keep-unit",
        `--directory=${launch.root}`,
        `--machine=${launch.machine}`,
        `--hostname=${launch.hostname}`,
        `--network-bridge=${launch.bridge}`,
        `--bind-ro=${launch.hostFilesDir}:/etc/airstrap-lab`,
        "--resolv-conf=off",
        "--timezone=off",
        "--link-journal=no",
        "--console=pipe",
      ],
      // detached: its own session, so it outlives this command and no terminal signal reaches it.
      {
        detached: true,
        stdio: ["ignore", log, log],
        env: { ...process.env, AIRSTRAP_LAB_CGROUPS: hostCgroups(launch.machine).join(" ") },
      },
    );
    if (child.pid === undefined) throw new Error(`could not start systemd-nspawn for ${launch.hostname}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(log);
  }
}

/** True when the PID is still this lab's nspawn for that machine (not a recycled PID). */
export function isOurContainer(pid: number | undefined, machine: string): pid is number {
  if (pid === undefined || !processAlive(pid)) return false;
  const commandLine = processCommandLine(pid);
  return (
    commandLine?.some((part) => part.endsWith("systemd-nspawn")) === true &&
    commandLine.includes(`--machine=${machine}`)
  );
}

/** The container's init (PID 1 inside): the child of nspawn in a new PID namespace. */
export function containerInit(nspawnPid: number): number | undefined {
  let children: string[];
  try {
    children = readFileSync(`/proc/${nspawnPid}/task/${nspawnPid}/children`, "utf8").trim().split(/\s+/);
  } catch {
    return undefined;
  }
  for (const child of children) {
    const pid = Number.parseInt(child, 10);
    if (!Number.isInteger(pid)) continue;
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const nspid = /^NSpid:\s*(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/);
      if (nspid && nspid.length > 1 && nspid[nspid.length - 1] === "1") return pid;
    } catch {}
  }
  return undefined;
}

/** A clean shutdown (nspawn asks the container's systemd to power off), escalating to kill. */
export async function stopContainer(pid: number, machine: string, timeoutMs = 20_000): Promise<void> {
  if (!isOurContainer(pid, machine)) return;
  signal(pid, "SIGTERM");
  if (await waitForExit(pid, timeoutMs)) return;
  await killContainer(pid, machine);
}

/**
 * Pulls the plug: SIGKILL to the container's init ends every process in its PID namespace at
 * once (as a power cut would); nspawn then notices and cleans up its mounts and veth.
 */
export async function killContainer(pid: number, machine: string): Promise<void> {
  if (!isOurContainer(pid, machine)) return;
  const init = containerInit(pid);
  if (init !== undefined) signal(init, "SIGKILL");
  if (await waitForExit(pid, 10_000)) return;
  signal(pid, "SIGKILL");
  await waitForExit(pid, 5_000);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/** Every nspawn process of a lab, found by its machine tag: what `lab down` must not leave behind. */
export function findLabContainers(tag: string): number[] {
  return findProcesses(
    (commandLine) =>
      commandLine.some((part) => part.endsWith("systemd-nspawn")) &&
      commandLine.some((part) => part.startsWith(`--machine=${tag}-h`)),
  );
}

/** The machine name an nspawn process was started with. */
export function containerMachine(pid: number): string | undefined {
  return processCommandLine(pid)
    ?.find((part) => part.startsWith("--machine="))
    ?.slice("--machine=".length);
}
