import type { AirstrapEvent } from "../../events.js";
import { type BootStep, clientAddress, foldBoot, isBootEvent } from "./boot-steps.js";
import type { DashboardHost, DashboardStage } from "./config.js";
import { foldGitops, type GitopsView, initialGitops } from "./gitops-stages.js";
import { foldSample, type NodePanel, type NodeSample } from "./node-panel.js";

/**
 * What the status page shows, as a pure function of the event stream: the same events the
 * terminal views read, folded one at a time. No I/O; the server pushes the result to browsers.
 */

export interface PhaseBar {
  phase: string;
  /** Milliseconds since the epoch. */
  start: number;
  end?: number;
  outcome: "running" | "done" | "failed";
}

export interface HostRow extends DashboardHost {
  boot?: BootStep;
  /** What the boot step's last event said, in words. */
  bootDetail?: string;
  /** The address full DHCP gave the machine (its TFTP and asset requests come from it). */
  bootAddress?: string;
  /** The install phase the host is in, or the last one it finished. */
  phase?: string;
  phaseDone: boolean;
  ready: boolean;
  lastError?: string;
  timeline: PhaseBar[];
}

export interface RunSummary {
  outcome: "running" | "complete" | "failed";
  /** The last thing the run said about itself (the kube wait, the kubeconfig). */
  message?: string;
  kubeconfig?: string;
  nextCommands: string[];
}

export interface PageState {
  site: string;
  /** Milliseconds since the epoch of the first event seen; the timeline's origin. */
  startedAt?: number;
  lastEventAt?: number;
  hosts: HostRow[];
  /** Each probed node's services, in the order they first answered. */
  nodes: NodePanel[];
  /** The hand-over to Flux: the push, the webhook, each stage's revision and Ready. */
  gitops: GitopsView;
  run: RunSummary;
}

export function initialPageState(site: string, hosts: DashboardHost[], stages: DashboardStage[] = []): PageState {
  return {
    site,
    hosts: hosts.map((host) => ({ ...host, phaseDone: false, ready: false, timeline: [] })),
    nodes: [],
    gitops: initialGitops(stages),
    run: { outcome: "running", nextCommands: [] },
  };
}

/** The state after one more event; `state` is left as it was. */
export function foldEvent(state: PageState, event: AirstrapEvent): PageState {
  // Probes go on after a run ends: they draw the node panels and must not stretch the run's timeline.
  if (event.kind === "node.sample") {
    if (event.host === undefined || event.detail === undefined) return state;
    return {
      ...state,
      nodes: foldSample(state.nodes, { ...(event.detail as unknown as NodeSample), host: event.host }),
    };
  }
  const at = Date.parse(event.time);
  const next: PageState = {
    ...state,
    startedAt: state.startedAt ?? at,
    lastEventAt: at,
  };
  const rowIndex = hostIndexOf(state.hosts, event);
  if (rowIndex >= 0) {
    const row = state.hosts[rowIndex] as HostRow;
    const changed = foldHostEvent(row, event, at);
    if (changed !== row) next.hosts = state.hosts.map((h, i) => (i === rowIndex ? changed : h));
  }
  if (event.kind === "kube.wait") next.hosts = markReady(next.hosts, event);
  if (event.kind.startsWith("gitops.")) next.gitops = foldGitops(state.gitops, event);
  next.run = foldRunEvent(state.run, event);
  return next;
}

/** The row an event concerns: by host name, else by the MAC a boot service saw, else by the address a boot client asked from. */
function hostIndexOf(hosts: HostRow[], event: AirstrapEvent): number {
  if (event.host !== undefined) {
    const byName = hosts.findIndex((h) => h.name === event.host);
    if (byName >= 0) return byName;
  }
  const mac = event.detail?.mac;
  if (typeof mac === "string") return hosts.findIndex((h) => h.mac !== undefined && h.mac === mac.toLowerCase());
  const client = isBootEvent(event) ? clientAddress(event) : undefined;
  if (client === undefined) return -1;
  return hosts.findIndex((h) => (h.bootAddress ?? h.address) === client);
}

/** The network boot as a bar of the timeline: from the first DHCP answer to the first-boot report. */
const BOOT_BAR = "network boot";

function foldHostEvent(row: HostRow, event: AirstrapEvent, at: number): HostRow {
  const boot = isBootEvent(event)
    ? foldBoot({ step: row.boot, detail: row.bootDetail, address: row.bootAddress }, event)
    : undefined;
  if (boot !== undefined) {
    let timeline = row.timeline;
    if (row.boot === undefined && boot.step !== undefined)
      timeline = [...timeline, { phase: BOOT_BAR, start: at, outcome: "running" }];
    if (boot.step === "first boot" && row.boot !== "first boot") timeline = closeBar(timeline, BOOT_BAR, at, "done");
    if (boot.error !== undefined && event.kind === "boot.report") timeline = closeBar(timeline, BOOT_BAR, at, "failed");
    return {
      ...row,
      ...(boot.step === undefined ? {} : { boot: boot.step }),
      ...(boot.detail === undefined ? {} : { bootDetail: boot.detail }),
      ...(boot.address === undefined ? {} : { bootAddress: boot.address }),
      ...(boot.error === undefined ? {} : { lastError: boot.error }),
      timeline,
    };
  }
  const phase = event.phase;
  switch (event.kind) {
    case "install.host.start":
      if (phase === undefined) return row;
      return {
        ...row,
        phase,
        phaseDone: false,
        timeline: [...row.timeline, { phase, start: at, outcome: "running" }],
      };
    case "install.host.done":
    case "install.host.fail": {
      const failed = event.kind === "install.host.fail";
      return {
        ...row,
        phaseDone: !failed,
        ...(failed ? { lastError: `${phase ?? "install"}: ${event.message}` } : {}),
        timeline: closeBar(row.timeline, phase, at, failed ? "failed" : "done"),
      };
    }
    default:
      if (event.level === "error") return { ...row, lastError: event.message };
      return row;
  }
}

/** The open bar of `phase` ends at `at`. */
function closeBar(timeline: PhaseBar[], phase: string | undefined, at: number, outcome: PhaseBar["outcome"]) {
  const open = timeline.findLastIndex((bar) => bar.outcome === "running" && bar.phase === phase);
  if (open < 0) return timeline;
  return timeline.map((bar, i) => (i === open ? { ...bar, end: at, outcome } : bar));
}

/** The kube wait names the nodes Ready now; the others are not (a node can drop out). */
function markReady(hosts: HostRow[], event: AirstrapEvent): HostRow[] {
  const ready = event.detail?.ready;
  if (!Array.isArray(ready)) return hosts;
  return hosts.map((h) => {
    const isReady = ready.includes(h.name);
    return isReady === h.ready ? h : { ...h, ready: isReady };
  });
}

function foldRunEvent(run: RunSummary, event: AirstrapEvent): RunSummary {
  switch (event.kind) {
    case "kube.wait":
    case "serve.ready":
    case "serve.stopped":
      return { ...run, message: event.message };
    case "install.kubeconfig": {
      const path = event.detail?.path;
      return typeof path === "string" ? { ...run, kubeconfig: path } : run;
    }
    case "run.end": {
      const ok = event.detail?.ok === true;
      const next = event.detail?.next;
      return {
        ...run,
        outcome: ok ? "complete" : "failed",
        message: event.message,
        nextCommands: Array.isArray(next) ? next.filter((c): c is string => typeof c === "string") : run.nextCommands,
      };
    }
    default:
      return run;
  }
}
