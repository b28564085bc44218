import type { EventInput, Events } from "../../src/events.js";
import type { DashboardHost } from "../../src/services/dashboard/config.js";

/**
 * A 15-host install as its events arrive, compressed into a few seconds per phase: PXE boot steps
 * by MAC, the install's phases (servers one at a time in one lane, agents side by side in another),
 * a stream of change lines as a real install prints, the kube wait, the run's end.
 */
export function simulatedHosts(count = 15): DashboardHost[] {
  return Array.from({ length: count }, (_, i) => {
    const n = String(i + 1).padStart(2, "0");
    const server = i < 3;
    return {
      name: server ? `k8s-server-${n}` : `k8s-agent-${n}`,
      role: i === 0 ? "primary server" : server ? "server" : "agent",
      address: `10.77.0.${11 + i}`,
      mac: `52:54:00:77:00:${(0x11 + i).toString(16)}`,
    };
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function simulateRun(events: Events, hosts: DashboardHost[], stepMs: number): Promise<number> {
  let emitted = 0;
  const emit = (event: EventInput) => {
    events.emit(event);
    emitted += 1;
  };
  for (const kind of ["dhcp.proxy-offer", "boot.ipxe", "boot.ignition"]) {
    for (const host of hosts)
      emit({ level: "info", kind, message: `${kind} for ${host.mac}`, detail: { mac: host.mac } });
    await sleep(stepMs);
  }
  for (const host of hosts)
    emit({
      level: "info",
      kind: "boot.report",
      message: `${host.mac} reported first-boot-done`,
      detail: { mac: host.mac, status: "first-boot-done", ignition: "success" },
    });
  const phase = async (title: string, group: DashboardHost[], steps: number) => {
    for (const host of group)
      emit({ level: "info", kind: "install.host.start", host: host.name, phase: title, message: "started" });
    for (let i = 0; i < steps; i += 1) {
      for (const host of group)
        emit({ level: "info", kind: "install.change", host: host.name, phase: title, message: `wrote /etc/file-${i}` });
      await sleep(stepMs / 4);
    }
    for (const host of group)
      emit({ level: "info", kind: "install.host.done", host: host.name, phase: title, message: "done" });
  };
  await phase("connect", hosts, 2);
  const servers = hosts.filter((h) => h.role !== "agent");
  const agents = hosts.filter((h) => h.role === "agent");
  await Promise.all([
    (async () => {
      for (const server of servers) await phase("install server", [server], 8);
    })(),
    (async () => {
      await phase("prepare agent", agents, 6);
      await phase("install agent", agents, 6);
    })(),
  ]);
  const ready: string[] = [];
  for (const host of hosts) {
    ready.push(host.name);
    emit({
      level: "info",
      kind: "kube.wait",
      message: `waiting for ${hosts.length - ready.length} nodes`,
      detail: { ready: [...ready] },
    });
    await sleep(stepMs / 8);
  }
  emit({
    level: "info",
    kind: "install.kubeconfig",
    host: hosts[0]?.name,
    message: "kubeconfig saved",
    detail: { path: "/site/.airstrap/kubeconfig" },
  });
  emit({
    level: "info",
    kind: "run.end",
    message: `${hosts.length} nodes Ready; kubeconfig: /site/.airstrap/kubeconfig`,
    detail: { ok: true, next: ["KUBECONFIG=/site/.airstrap/kubeconfig kubectl get nodes"] },
  });
  return emitted;
}
