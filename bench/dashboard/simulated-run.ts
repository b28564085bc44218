import type { EventInput, Events } from "../../src/events.js";
import type { DashboardHost, DashboardStage } from "../../src/services/dashboard/config.js";

/**
 * A 15-host install as its events arrive, compressed into a few seconds per phase: PXE boot steps
 * by MAC, the install's phases (servers one at a time in one lane, agents side by side in another),
 * a stream of change lines as a real install prints, the kube wait, the hand-over to Flux (push,
 * objects, webhook, each stage waiting then Ready), the run's end.
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

export const SIMULATED_STAGES: DashboardStage[] = [
  { name: "bootstrap", dependsOn: [] },
  { name: "cluster-base-apps", dependsOn: ["bootstrap"] },
  { name: "cluster-apps", dependsOn: ["cluster-base-apps"] },
];

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
  await handOver(emit, stepMs);
  emit({
    level: "info",
    kind: "run.end",
    message: `${hosts.length} nodes Ready; kubeconfig: /site/.airstrap/kubeconfig`,
    detail: { ok: true, next: ["KUBECONFIG=/site/.airstrap/kubeconfig kubectl get nodes"] },
  });
  return emitted;
}

/** What `gitops bootstrap` says (src/gitops/bootstrap.ts, wait-stages.ts), stage by stage. */
async function handOver(emit: (event: EventInput) => void, stepMs: number): Promise<void> {
  const commit = "5f0c2a9e1b7d43c8a6e2f1d0b9c8a7e6f5d4c3b2";
  const url = "http://10.77.0.1:8480/edge.git";
  emit({ level: "info", kind: "gitops.push", message: `pushing ${SIMULATED_STAGES.length} stage folders to ${url}` });
  emit({
    level: "info",
    kind: "gitops.push",
    message: `pushed ${commit.slice(0, 12)} to main`,
    detail: { commit, pushed: true },
  });
  emit({ level: "info", kind: "gitops.applied", message: "31 objects: 31 created or changed, 0 unchanged" });
  emit({ level: "info", kind: "gitops.webhook", message: "git server webhook: http://10.77.0.11:30090/hook/…" });
  for (const { name } of SIMULATED_STAGES) {
    const stage = (ready: string, reason: string, message: string, revision: string) =>
      emit({
        level: "info",
        kind: "gitops.stage",
        phase: `stage ${name}`,
        message: `${name}  Ready=${ready}  ${reason}`,
        detail: { stage: name, state: ready === "True" ? "ready" : "waiting", ready, reason, message, revision },
      });
    stage("Unknown", "Progressing", "Reconciliation in progress", "");
    await sleep(stepMs);
    stage("True", "ReconciliationSucceeded", `Applied revision: main@sha1:${commit}`, `main@sha1:${commit}`);
  }
}
