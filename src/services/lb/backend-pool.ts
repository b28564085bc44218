/**
 * The backends of one listener: their health (active checks on a timer, passive reports from
 * the proxy), their open connections, and the order a new connection should try them in.
 * State changes are emitted once per transition, never per check.
 */
import type { Events } from "../../events.js";
import { backendKey, type LbBackendAddress, type LbListenerConfig } from "./config.js";
import { afterCheck, afterConnectFailure, type Health, initialHealth } from "./health.js";
import { KeptCheckConnection, type ProbeResult, probeBackend } from "./probe.js";
import { connectOrder, type Tier, tierBackends } from "./selection.js";

/** A client connection bound to a backend; the pool closes it when the backend goes down. */
export interface BoundConnection {
  destroy(): void;
}

export interface Backend {
  readonly key: string;
  readonly name: string;
  readonly address: string;
  readonly port: number;
  tier: Tier;
  health: Health;
  readonly connections: Set<BoundConnection>;
  /** For least-connections: counts connects in progress too, so a burst does not pile onto one backend. */
  activeConnections: number;
  connectionsTotal: number;
  bytesFromClients: number;
  bytesToClients: number;
  connectFailures: number;
  /** Established connections the backend reset (counted like failed connects). */
  resets: number;
  checks: number;
  checkFailures: number;
  lastCheckLatencyMs: number | undefined;
  lastFailure: string | undefined;
}

export class BackendPool {
  private backends = new Map<string, Backend>();
  private retired = new Set<Backend>();
  private timers = new Map<string, NodeJS.Timeout>();
  private checkConnections = new Map<string, KeptCheckConnection>();
  /** Bumped whenever a backend's check loop is (re)started, so a probe from an older loop is ignored. */
  private generations = new Map<string, number>();
  private rotation = 0;
  private stopped = false;
  private allDown = false;

  constructor(
    private config: LbListenerConfig,
    private readonly events: Events,
    /** Read when a backend is retired, so a reload that changes it applies. */
    private readonly drainTimeoutMs: () => number,
  ) {
    this.apply(config);
  }

  get listenerName(): string {
    return this.config.name;
  }

  list(): Backend[] {
    return [...this.backends.values()];
  }

  /** Backends removed by a reload whose connections are still draining. */
  draining(): Backend[] {
    return [...this.retired];
  }

  order(): Backend[] {
    this.rotation = (this.rotation + 1) % 1_000_000_007;
    const candidates = this.list().map((backend) => ({
      key: backend.key,
      tier: backend.tier,
      state: backend.health.state,
      activeConnections: backend.activeConnections,
      backend,
    }));
    return connectOrder(candidates, this.rotation).map((candidate) => candidate.backend);
  }

  start(): void {
    for (const backend of this.backends.values()) this.scheduleCheck(backend, 0);
  }

  /** Swaps in a new listener config: health and counters of backends that stay are kept. */
  update(config: LbListenerConfig): void {
    const checkChanged = JSON.stringify(config.check) !== JSON.stringify(this.config.check);
    this.config = config;
    const removed = this.apply(config);
    for (const backend of removed) this.retire(backend);
    if (checkChanged) this.dropCheckConnections();
    for (const backend of this.backends.values()) {
      if (checkChanged || !this.timers.has(backend.key)) this.scheduleCheck(backend, 0);
    }
    this.updateAllDown();
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.dropCheckConnections();
  }

  private dropCheckConnections(): void {
    for (const kept of this.checkConnections.values()) kept.drop();
    this.checkConnections.clear();
  }

  reportConnectFailure(backend: Backend, reason: string): void {
    backend.connectFailures += 1;
    backend.lastFailure = reason;
    this.transition(backend, afterConnectFailure(backend.health, this.config.check), reason);
  }

  /** A reset from the backend on an established connection: a server that accepts and then drops. */
  reportReset(backend: Backend, reason: string): void {
    backend.resets += 1;
    backend.lastFailure = reason;
    this.transition(backend, afterConnectFailure(backend.health, this.config.check), reason);
  }

  private apply(config: LbListenerConfig): Backend[] {
    const tiered = tierBackends<LbBackendAddress>(config.backends.static, config.backends.discovered, backendKey);
    const next = new Map<string, Backend>();
    for (const { backend: address, tier } of tiered) {
      const key = backendKey(address);
      const existing = this.backends.get(key);
      if (existing) {
        existing.tier = tier;
        next.set(key, existing);
      } else {
        next.set(key, newBackend(key, address, tier));
      }
    }
    const removed = [...this.backends.values()].filter((backend) => !next.has(backend.key));
    this.backends = next;
    return removed;
  }

  /** Connections to a backend that left the list finish within the drain timeout, then are closed. */
  private retire(backend: Backend): void {
    const timer = this.timers.get(backend.key);
    if (timer) clearTimeout(timer);
    this.timers.delete(backend.key);
    this.generations.delete(backend.key);
    this.checkConnections.get(backend.key)?.drop();
    this.checkConnections.delete(backend.key);
    this.events.emit({
      level: "info",
      kind: "lb.backend.removed",
      service: "lb",
      message: `${this.config.name}: backend ${label(backend)} removed; ${backend.connections.size} connection(s) draining`,
      detail: { listener: this.config.name, backend: backend.key },
    });
    if (backend.connections.size === 0) return;
    this.retired.add(backend);
    const deadline = setTimeout(() => {
      for (const connection of [...backend.connections]) connection.destroy();
      this.retired.delete(backend);
    }, this.drainTimeoutMs());
    deadline.unref();
  }

  private scheduleCheck(backend: Backend, delayMs: number): void {
    if (this.stopped) return;
    const previous = this.timers.get(backend.key);
    if (previous) clearTimeout(previous);
    const generation = (this.generations.get(backend.key) ?? 0) + 1;
    this.generations.set(backend.key, generation);
    const timer = setTimeout(() => void this.runCheck(backend, generation), delayMs);
    timer.unref();
    this.timers.set(backend.key, timer);
  }

  private async runCheck(backend: Backend, generation: number): Promise<void> {
    const check = this.config.check;
    const started = performance.now();
    let kept = this.checkConnections.get(backend.key);
    if (kept === undefined) {
      kept = new KeptCheckConnection();
      this.checkConnections.set(backend.key, kept);
    }
    const result = await probeBackend(backend, check, kept).catch(
      (error: unknown): ProbeResult => ({ ok: false, latencyMs: 0, reason: String(error) }),
    );
    // A reload may have removed the backend or restarted its checks while this probe ran.
    const current = this.backends.get(backend.key) === backend && this.generations.get(backend.key) === generation;
    if (this.stopped || !current) return;
    backend.checks += 1;
    backend.lastCheckLatencyMs = result.latencyMs;
    if (!result.ok) {
      backend.checkFailures += 1;
      backend.lastFailure = result.reason;
    }
    this.transition(backend, afterCheck(backend.health, result.ok, check), result.reason);
    const elapsed = performance.now() - started;
    this.scheduleCheck(backend, Math.max(0, check.intervalMs - elapsed));
  }

  private transition(backend: Backend, next: Health, reason: string | undefined): void {
    const before = backend.health.state;
    backend.health = next;
    if (next.state === before) return;
    const detail = { listener: this.config.name, backend: backend.key, from: before, to: next.state };
    if (next.state === "up") {
      this.events.emit({
        level: "info",
        kind: "lb.backend.up",
        service: "lb",
        message: `${this.config.name}: backend ${label(backend)} is up`,
        detail,
      });
    } else if (next.state === "down") {
      const open = backend.connections.size;
      const closing = this.config.closeOnBackendDown && open > 0;
      this.events.emit({
        level: "warn",
        kind: "lb.backend.down",
        service: "lb",
        message: `${this.config.name}: backend ${label(backend)} is down${reason ? `: ${reason}` : ""}${closing ? `; closing ${open} connection(s)` : ""}`,
        detail: { ...detail, reason, closedConnections: closing ? open : 0 },
      });
      if (closing) for (const connection of [...backend.connections]) connection.destroy();
    }
    this.updateAllDown();
  }

  private updateAllDown(): void {
    const backends = this.list();
    const allDown = backends.length > 0 && backends.every((backend) => backend.health.state === "down");
    if (allDown === this.allDown) return;
    this.allDown = allDown;
    this.events.emit({
      level: allDown ? "error" : "info",
      kind: allDown ? "lb.listener.all-down" : "lb.listener.recovered",
      service: "lb",
      message: allDown
        ? `${this.config.name}: every backend is down; still trying them all`
        : `${this.config.name}: a backend is available again`,
      detail: { listener: this.config.name },
    });
  }
}

function newBackend(key: string, address: LbBackendAddress, tier: Tier): Backend {
  return {
    key,
    name: address.name,
    address: address.address,
    port: address.port,
    tier,
    health: initialHealth(),
    connections: new Set(),
    activeConnections: 0,
    connectionsTotal: 0,
    bytesFromClients: 0,
    bytesToClients: 0,
    connectFailures: 0,
    resets: 0,
    checks: 0,
    checkFailures: 0,
    lastCheckLatencyMs: undefined,
    lastFailure: undefined,
  };
}

const label = (backend: Backend) => (backend.name === backend.key ? backend.key : `${backend.name} (${backend.key})`);
