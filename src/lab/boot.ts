import { readFile } from "node:fs/promises";
import { OperatorError } from "../errors.js";
import type { StateDir } from "../state/state-dir.js";
import { startContainer } from "./container.js";
import { mountHostDisk } from "./disk.js";
import { waitForSsh } from "./probe.js";
import { consoleLogPath, hostFilesDir, type LabHostState, type LabState } from "./state.js";

/** Hosts answer SSH in 1-2 s on an idle machine; the bound is for a machine loaded by other work. */
export const READY_TIMEOUT_MS = 120_000;

/** Boots one host of the lab on its own disk; returns nspawn's PID. */
export async function launchHost(state: StateDir, lab: LabState, host: LabHostState): Promise<number> {
  return startContainer({
    netns: lab.names.netns,
    bridge: lab.names.bridge,
    root: await mountHostDisk(lab.names.tag, host.name, lab.rootfs),
    machine: host.machine,
    hostname: host.name,
    hostFilesDir: hostFilesDir(state, host.name),
    consoleLog: consoleLogPath(state, host.name),
  });
}

/** Waits until the hosts (all, or those given) answer SSH; a host that does not is an error with its console's last words. */
export async function requireSsh(
  state: StateDir,
  lab: LabState,
  timeoutMs: number,
  only?: LabHostState[],
): Promise<void> {
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
