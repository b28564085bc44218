import type { AirstrapEvent } from "../../events.js";
import type { DashboardHost } from "./config.js";
import { foldSample, type NodePanel, type NodeSample } from "./node-panel.js";

/**
 * What the status page shows, as a pure function of the event stream: the same events the
 * terminal views read, folded one at a time. No I/O; the server pushes the result to browsers.
 */

/** How far a machine got in network boot, in the order it gets there. */
export const BOOT_STEPS = ["DHCP", "iPXE", "Ignition", "first boot"] as const;
export type BootStep = (typeof BOOT_STEPS)[number];

export interface PhaseBar {
  phase: string;
  /** Milliseconds since the epoch. */
  start: number;
  end?: number;
  outcome: "running" | "done" | "failed";
}

export interface HostRow extends DashboardHost {
  boot?: BootStep;
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
  run: RunSummary;
}

export function initialPageState(site: string, hosts: DashboardHost[]): PageState {
  return {
    site,
    hosts: hosts.map((host) => ({ ...host, phaseDone: false, ready: false, timeline: [] })),
    nodes: [],
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
  next.run = foldRunEvent(state.run, event);
  return next;
}

/** The row an event concerns: by host name, else by the MAC a boot service saw. */
function hostIndexOf(hosts: HostRow[], event: AirstrapEvent): number {
  if (event.host !== undefined) {
    const byName = hosts.findIndex((h) => h.name === event.host);
    if (byName >= 0) return byName;
  }
  const mac = event.detail?.mac;
  if (typeof mac !== "string") return -1;
  return hosts.findIndex((h) => h.mac !== undefined && h.mac === mac.toLowerCase());
}

function foldHostEvent(row: HostRow, event: AirstrapEvent, at: number): HostRow {
  const boot = bootStepOf(event);
  if (boot !== undefined) {
    const failed = event.kind === "boot.report" && event.detail?.ignition === "failure";
    const further = row.boot === undefined || BOOT_STEPS.indexOf(boot) >= BOOT_STEPS.indexOf(row.boot);
    return {
      ...row,
      ...(further ? { boot } : {}),
      ...(failed ? { lastError: event.message } : {}),
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

/** The DHCP replies that hand a machine its address or its boot file. */
const DHCP_ANSWERS = new Set(["dhcp.offer", "dhcp.ack", "dhcp.proxy-offer", "dhcp.pxe-ack"]);

function bootStepOf(event: AirstrapEvent): BootStep | undefined {
  if (DHCP_ANSWERS.has(event.kind)) return "DHCP";
  if (event.kind === "boot.ipxe") return "iPXE";
  if (event.kind === "boot.ignition") return "Ignition";
  if (event.kind === "boot.report" && event.detail?.status === "first-boot-done") return "first boot";
  return undefined;
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
