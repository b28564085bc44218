import type { AirstrapEvent, Events } from "../../../src/events.js";
import { formatStageStatus, type StageStatus } from "../../../src/gitops/stage-status.js";
import type { DashboardConfig, DashboardHost, DashboardStage } from "../../../src/services/dashboard/config.js";
import { startDns } from "../../../src/services/dns/service.js";
import { type LbBackendAddress, listenerWithDefaults } from "../../../src/services/lb/config.js";
import { startLoadBalancer } from "../../../src/services/lb/service.js";
import { startNodeStatus } from "../../../src/services/node-status/service.js";
import { siteConfig } from "../dns/fixture.js";

/** A small site for the status page's tests: a primary, a server and an agent, each with a MAC. */
export const HOSTS: DashboardHost[] = [
  { name: "s1", role: "primary server", address: "10.77.0.11", mac: "52:54:00:77:00:11" },
  { name: "s2", role: "server", address: "10.77.0.12", mac: "52:54:00:77:00:12" },
  { name: "a1", role: "agent", address: "10.77.0.21", mac: "52:54:00:77:00:21" },
];

export function testConfig(overrides: Partial<DashboardConfig> = {}): DashboardConfig {
  return {
    listen: { address: "127.0.0.1", port: 0 },
    site: "edge",
    hosts: HOSTS,
    stages: [],
    pushIntervalMs: 50,
    nodes: [],
    probeIntervalMs: 100,
    journalSize: 100,
    ...overrides,
  };
}

let clock = Date.parse("2026-12-07T04:00:00.000Z");

/** An event as the stream carries it, each one a second after the one before. */
export function at(input: Omit<AirstrapEvent, "time" | "level"> & { level?: AirstrapEvent["level"] }): AirstrapEvent {
  clock += 1000;
  return { level: "info", ...input, time: new Date(clock).toISOString() };
}

/** What an install says about one host going through phases, then the kube wait seeing them Ready. */
export function installOf(hosts: string[], phases: string[]): AirstrapEvent[] {
  const events: AirstrapEvent[] = [];
  for (const phase of phases)
    for (const host of hosts) {
      events.push(at({ kind: "install.host.start", host, phase, message: "started" }));
      events.push(at({ kind: "install.host.done", host, phase, message: "done" }));
    }
  events.push(at({ kind: "kube.wait", message: "all nodes Ready", detail: { ready: hosts } }));
  return events;
}

/**
 * A node's services as `airstrap node` runs them, on loopback: a real DNS server, a real load
 * balancer (one `api` listener over `backends`, checked every 100 ms) and the read-only status
 * listener in front of both, readable from `allowed`. Returns them and the status listener's URL.
 */
export async function nodeWithStatus(
  backends: LbBackendAddress[],
  events: Events,
  where: { address: string; allowed: string[] } = { address: "127.0.0.1", allowed: ["127.0.0.0/8"] },
) {
  const dns = await startDns(siteConfig({ listen: [{ address: where.address, port: 0 }] }), events);
  const lb = await startLoadBalancer(
    {
      listeners: [
        listenerWithDefaults({
          name: "api",
          address: where.address,
          port: 0,
          backends,
          check: { intervalMs: 100, timeoutMs: 90, rise: 1, fall: 1 },
        }),
      ],
      drainTimeoutMs: 100,
    },
    events,
  );
  let dnsServing = true;
  const status = await startNodeStatus(
    { listen: { address: where.address, port: 0 }, allowedNetworks: where.allowed },
    events,
    {
      dnsServing: () => dnsServing,
      dnsMetrics: () => dns.metrics(),
      lbHealth: () => lb.health(),
      lbMetrics: () => lb.metrics(),
    },
  );
  return {
    dns,
    lb,
    status,
    statusUrl: `http://${status.addresses[0]}`,
    stopDns: () => {
      dnsServing = false;
    },
    close: async () => {
      await status.close();
      await Promise.all([dns.close(), lb.close()]);
    },
  };
}

/** A site repository's stages as a manifest lists them: each waits for the one before. */
export const STAGES: DashboardStage[] = [
  { name: "bootstrap", dependsOn: [] },
  { name: "cluster-base-apps", dependsOn: ["bootstrap"] },
  { name: "cluster-apps", dependsOn: ["cluster-base-apps"] },
];

/** What `gitops bootstrap` says before it waits for the stages: the push of `commit`, the objects, the webhook. */
export function handOverOf(commit: string, pushed = true): AirstrapEvent[] {
  return [
    at({ kind: "gitops.push", message: "pushing 3 stage folders to http://10.77.0.1:8480/edge.git" }),
    at({
      kind: "gitops.push",
      message: pushed
        ? `pushed ${commit.slice(0, 12)} to main`
        : `main already holds these folders (${commit.slice(0, 12)}): nothing pushed`,
      detail: { commit, pushed },
    }),
    at({ kind: "gitops.applied", message: "31 objects: 31 created or changed, 0 unchanged" }),
    at({ kind: "gitops.webhook", message: "git server webhook: http://10.77.0.11:30090/hook/0123abcd" }),
  ];
}

/** The wait's event when a stage's Kustomization says `ready`/`reason`/`message` (src/gitops/wait-stages.ts). */
export function stageEvent(
  stage: string,
  state: StageStatus["state"],
  condition: Pick<StageStatus, "ready" | "reason" | "message" | "revision">,
): AirstrapEvent {
  const status: StageStatus = { stage, state, ...condition };
  return at({
    kind: "gitops.stage",
    level: state === "failed" ? "error" : "info",
    phase: `stage ${stage}`,
    message: formatStageStatus(status),
    detail: { ...status },
  });
}

/** A stage Ready at `commit`, as kustomize-controller reports it. */
export function readyAt(stage: string, commit: string): AirstrapEvent {
  const revision = `main@sha1:${commit}`;
  return stageEvent(stage, "ready", {
    ready: "True",
    reason: "ReconciliationSucceeded",
    message: `Applied revision: ${revision}`,
    revision,
  });
}
