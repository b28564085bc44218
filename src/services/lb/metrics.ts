/** Prometheus text exposition of the load balancer's state — pure, from a snapshot. */
import type { Backend } from "./backend-pool.js";
import type { BackendState } from "./health.js";
import type { Tier } from "./selection.js";

/** The counters a backend keeps (backend-pool.ts), as the metrics see them. */
export type BackendCounters = Pick<
  Backend,
  | "name"
  | "key"
  | "activeConnections"
  | "connectionsTotal"
  | "bytesFromClients"
  | "bytesToClients"
  | "connectFailures"
  | "resets"
  | "checks"
  | "checkFailures"
  | "lastCheckLatencyMs"
>;

export interface BackendSnapshot extends BackendCounters {
  listener: string;
  tier: Tier | "removed";
  state: BackendState;
}

export interface ListenerSnapshot {
  name: string;
  address: string;
  activeConnections: number;
  accepted: number;
  rejectedMaxConnections: number;
  failedNoBackend: number;
  closedIdle: number;
}

const STATES: BackendState[] = ["up", "down", "unchecked"];

interface Family {
  name: string;
  type: "gauge" | "counter";
  help: string;
  samples: string[];
}

export function renderMetrics(listeners: ListenerSnapshot[], backends: BackendSnapshot[]): string {
  const family = (name: string, type: Family["type"], help: string): Family => ({ name, type, help, samples: [] });
  const b = {
    state: family("airstrap_lb_backend_state", "gauge", "1 for the backend's current health state."),
    up: family("airstrap_lb_backend_up", "gauge", "1 when the backend passes its health checks."),
    active: family("airstrap_lb_backend_active_connections", "gauge", "Open client connections to the backend."),
    total: family("airstrap_lb_backend_connections_total", "counter", "Client connections forwarded to the backend."),
    sent: family("airstrap_lb_backend_sent_bytes_total", "counter", "Bytes forwarded from clients to the backend."),
    received: family(
      "airstrap_lb_backend_received_bytes_total",
      "counter",
      "Bytes forwarded from the backend to clients.",
    ),
    connectFailures: family(
      "airstrap_lb_backend_connect_failures_total",
      "counter",
      "Connects to the backend that failed or timed out (passive checks).",
    ),
    resets: family(
      "airstrap_lb_backend_resets_total",
      "counter",
      "Established connections the backend reset (passive checks).",
    ),
    checks: family("airstrap_lb_backend_checks_total", "counter", "Active health checks run."),
    checkFailures: family("airstrap_lb_backend_check_failures_total", "counter", "Active health checks that failed."),
    latency: family(
      "airstrap_lb_backend_check_latency_seconds",
      "gauge",
      "Duration of the most recent active health check.",
    ),
  };
  for (const backend of backends) {
    const labels = `listener="${esc(backend.listener)}",backend="${esc(backend.name)}",address="${esc(backend.key)}",tier="${backend.tier}"`;
    for (const state of STATES) b.state.samples.push(`{${labels},state="${state}"} ${backend.state === state ? 1 : 0}`);
    b.up.samples.push(`{${labels}} ${backend.state === "up" ? 1 : 0}`);
    b.active.samples.push(`{${labels}} ${backend.activeConnections}`);
    b.total.samples.push(`{${labels}} ${backend.connectionsTotal}`);
    b.sent.samples.push(`{${labels}} ${backend.bytesFromClients}`);
    b.received.samples.push(`{${labels}} ${backend.bytesToClients}`);
    b.connectFailures.samples.push(`{${labels}} ${backend.connectFailures}`);
    b.resets.samples.push(`{${labels}} ${backend.resets}`);
    b.checks.samples.push(`{${labels}} ${backend.checks}`);
    b.checkFailures.samples.push(`{${labels}} ${backend.checkFailures}`);
    if (backend.lastCheckLatencyMs !== undefined) {
      b.latency.samples.push(`{${labels}} ${(backend.lastCheckLatencyMs / 1000).toFixed(6)}`);
    }
  }
  const l = {
    active: family("airstrap_lb_listener_active_connections", "gauge", "Open client connections on the listener."),
    accepted: family("airstrap_lb_listener_accepted_total", "counter", "Client connections accepted."),
    rejected: family(
      "airstrap_lb_listener_rejected_total",
      "counter",
      "Client connections closed without being forwarded, by reason.",
    ),
    idle: family("airstrap_lb_listener_idle_closed_total", "counter", "Connections closed by the idle timeout."),
  };
  for (const listener of listeners) {
    const labels = `listener="${esc(listener.name)}",address="${esc(listener.address)}"`;
    l.active.samples.push(`{${labels}} ${listener.activeConnections}`);
    l.accepted.samples.push(`{${labels}} ${listener.accepted}`);
    l.rejected.samples.push(`{${labels},reason="max_connections"} ${listener.rejectedMaxConnections}`);
    l.rejected.samples.push(`{${labels},reason="no_backend"} ${listener.failedNoBackend}`);
    l.idle.samples.push(`{${labels}} ${listener.closedIdle}`);
  }
  return [...Object.values(b), ...Object.values(l)]
    .filter((f) => f.samples.length > 0)
    .map((f) =>
      [`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`, ...f.samples.map((s) => f.name + s)].join("\n"),
    )
    .join("\n")
    .concat("\n");
}

const esc = (value: string) => value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
