import { UsageError } from "../errors.js";
import type { Plan } from "../plan/types.js";
import { bastionName } from "./connect.js";
import type { KnownHosts, PinnedKey } from "./known-hosts.js";

/** A machine airstrap connects to (a manifest host or a bastion) and the host keys pinned for it. */
export interface PinnedMachine {
  name: string;
  kind: "host" | "bastion";
  address: string;
  port: number;
  keys: PinnedKey[];
}

/** Every host and bastion of the plan with its pins, in manifest order (bastions after the hosts). */
export async function pinnedMachines(plan: Plan, knownHosts: KnownHosts): Promise<PinnedMachine[]> {
  const machines = sshTargets(plan);
  return Promise.all(machines.map(async (m) => ({ ...m, keys: await knownHosts.pinned(m.address, m.port) })));
}

/**
 * Removes the pins of a host (by manifest name), a bastion (by the name messages give it) or an
 * address[:port] the plan connects to, so the next connection pins its key anew.
 */
export async function forgetPins(
  plan: Plan,
  knownHosts: KnownHosts,
  which: string,
): Promise<{ machine: Omit<PinnedMachine, "keys">; removed: number }> {
  const machines = sshTargets(plan);
  const machine =
    machines.find((m) => m.name === which) ??
    machines.find(
      (m) => m.address === which || `${m.address}:${m.port}` === which || `[${m.address}]:${m.port}` === which,
    );
  if (machine === undefined)
    throw new UsageError(`no host or bastion named "${which}" in the manifest`, {
      hint: `hosts: ${machines.map((m) => m.name).join(", ")}`,
    });
  return { machine, removed: await knownHosts.forget(machine.address, machine.port) };
}

/** What the plan reaches over SSH: every host but the one with connection: local, and their bastions. */
function sshTargets(plan: Plan): Array<Omit<PinnedMachine, "keys">> {
  const overSsh = plan.hosts.filter((h) => h.connection !== "local");
  const hosts = overSsh.map((h) => ({ name: h.name, kind: "host" as const, address: h.address, port: h.ssh.port }));
  const bastions = new Map<string, Omit<PinnedMachine, "keys">>();
  for (const h of overSsh) {
    const b = h.ssh.bastion;
    if (b === undefined) continue;
    const name = bastionName(b);
    bastions.set(name, { name, kind: "bastion", address: b.address, port: b.port });
  }
  return [...hosts, ...bastions.values()];
}
