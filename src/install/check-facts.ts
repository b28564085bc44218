import type { Plan, PlannedHost } from "../plan/types.js";
import type { HostFacts } from "./facts.js";

export interface FactProblem {
  host: string;
  problem: string;
  hint: string;
}

/** Disk a node needs before the distro's images are unpacked (RKE2's images alone are several GB). */
export const MIN_FREE_BYTES = { server: 8 * 2 ** 30, agent: 4 * 2 ** 30 } as const;
const MAX_CLOCK_SKEW_SECONDS = 30;

/**
 * Pure: what would make the install fail later, found before anything is changed. Hosts that
 * already run the distro are not asked for free ports (the ports are theirs).
 */
export function checkFacts(plan: Plan, facts: ReadonlyMap<string, HostFacts>, minFree = MIN_FREE_BYTES): FactProblem[] {
  const problems: FactProblem[] = [];
  const byHostname = new Map<string, string>();
  const byMachineId = new Map<string, string>();
  for (const host of plan.hosts) {
    const f = facts.get(host.name);
    if (!f) continue;
    const sameName = byHostname.get(f.hostname);
    if (sameName)
      problems.push({
        host: host.name,
        problem: `hostname "${f.hostname}" is also ${sameName}'s`,
        hint: "give every machine its own hostname (hostnamectl set-hostname)",
      });
    else byHostname.set(f.hostname, host.name);
    const sameId = f.machineId ? byMachineId.get(f.machineId) : undefined;
    if (sameId)
      problems.push({
        host: host.name,
        problem: `machine-id is the same as ${sameId}'s (a cloned image?)`,
        hint: "regenerate it: rm /etc/machine-id && systemd-machine-id-setup",
      });
    else if (f.machineId) byMachineId.set(f.machineId, host.name);
    if (f.arch !== plan.distro.arch)
      problems.push({
        host: host.name,
        problem: `is ${f.arch}, the artifacts are for ${plan.distro.arch}`,
        hint: "set spec.distro.arch to match, or use a host of that architecture",
      });
    if (f.diskFreeBytes < minFree[host.role]) {
      problems.push({
        host: host.name,
        problem: `has ${gib(f.diskFreeBytes)} free under /var/lib, a ${host.role} needs ${gib(minFree[host.role])}`,
        hint: "free disk space or grow the volume",
      });
    }
    if (Math.abs(f.clockSkewSeconds) > MAX_CLOCK_SKEW_SECONDS) {
      problems.push({
        host: host.name,
        problem: `clock is ${f.clockSkewSeconds.toFixed(0)} s off this machine's`,
        hint: "set the time (certificates and etcd need clocks within seconds)",
      });
    }
    if (!f.distroActive) {
      const busy = requiredPorts(plan, host).filter(
        (p) =>
          !(p.ours && f.nodeServiceRunning) &&
          f.listening.some((l) => l.port === p.port && conflicts(l.address, p, host.address)),
      );
      for (const port of busy)
        problems.push({
          host: host.name,
          problem: `port ${port.port} (${port.what}) is already in use`,
          hint: "stop what listens there (ss -ltnp shows it) or change the port in cluster.yaml",
        });
    }
  }
  return problems;
}

function requiredPorts(plan: Plan, host: PlannedHost): Array<{ port: number; what: string; ours: boolean }> {
  const ports = plan.loadBalancer.listeners.map((l) => ({ port: l.port, what: `load balancer ${l.name}`, ours: true }));
  ports.push({ port: plan.dns.port, what: "DNS", ours: true }, { port: 10250, what: "kubelet", ours: false });
  if (host.role === "server") {
    for (const l of plan.loadBalancer.listeners)
      ports.push({ port: l.backendPort, what: `Kubernetes ${l.name}`, ours: false });
    ports.push({ port: 2379, what: "etcd client", ours: false }, { port: 2380, what: "etcd peer", ours: false });
  }
  const seen = new Set<number>();
  return ports.filter((p) => !seen.has(p.port) && seen.add(p.port));
}

/**
 * airstrap's own services bind the node's address only, so a listener elsewhere on the same port
 * (systemd-resolved on 127.0.0.53:53) is no conflict; the distro binds every address.
 */
function conflicts(listening: string, port: { ours: boolean }, nodeAddress: string): boolean {
  if (!port.ours) return true;
  return listening === "*" || listening === nodeAddress;
}

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
