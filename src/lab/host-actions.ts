import type { Events } from "../events.js";
import type { StateDir } from "../state/state-dir.js";
import { launchHost, READY_TIMEOUT_MS, requireSsh } from "./boot.js";
import { removeHostCgroups } from "./cgroups.js";
import { isOurContainer, killContainer, stopContainer } from "./container.js";
import { hostAttached, setHostAttached } from "./network.js";
import { labPower } from "./power.js";
import { type LabHostState, type LabState, requireHost, requireLab, writeLabState } from "./state.js";

/** Shuts a host down cleanly (its systemd powers off), as `systemctl poweroff` would. */
export async function labStop(state: StateDir, name: string, events: Events): Promise<void> {
  const lab = await requireLab(state);
  const host = requireHost(lab, name);
  if (host.vm) return labPower(state, name, "off", events);
  if (isOurContainer(host.pid, host.machine)) await stopContainer(host.pid, host.machine);
  removeHostCgroups((machine) => machine === host.machine);
  delete host.pid;
  await writeLabState(state, lab);
  events.emit({ level: "info", kind: "lab.host.stop", host: name, message: "stopped" });
}

/** Cuts the power: every process of the host dies at once, nothing is shut down cleanly. */
export async function labKill(state: StateDir, name: string, events: Events): Promise<void> {
  const lab = await requireLab(state);
  const host = requireHost(lab, name);
  if (host.vm) return labPower(state, name, "off", events);
  if (isOurContainer(host.pid, host.machine)) await killContainer(host.pid, host.machine);
  removeHostCgroups((machine) => machine === host.machine);
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
  // A machine with no OS only powers on: what it boots, and when it answers SSH, is the boot server's doing.
  if (host.vm) return labPower(state, name, "on", events);
  if (isOurContainer(host.pid, host.machine)) return;
  host.pid = await launchHost(state, lab, host);
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
