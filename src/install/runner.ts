import { createLimiter, type Limiter } from "../concurrency/limiter.js";
import { DEFAULT_RETRY, type RetryPolicy, withRetry } from "../concurrency/retry.js";
import type { PlannedHost } from "../plan/types.js";
import type { Phase, PhaseContext } from "./phase.js";

export interface RunOptions {
  /** Hosts worked on at once, across every phase and lane running at the same moment. */
  concurrency: number;
  retry?: RetryPolicy;
  /**
   * A host nothing later can work without (the primary server): its failure in any phase ends the
   * run, whatever the phase's own onFailure says.
   */
  essential?: (host: PlannedHost) => boolean;
}

export interface HostFailure {
  host: string;
  phase: string;
  reason: string;
  hint?: string;
}

export interface InstallReport {
  ok: boolean;
  failures: HostFailure[];
  /** Phases that ran, with how many hosts each concerned (summed over the lanes it ran in). */
  phases: Array<{ title: string; hosts: number; skipped: boolean }>;
  /** True when a "stop-run" failure ended the run early. */
  stopped: boolean;
}

/**
 * Phases that run side by side on disjoint sets of hosts, each lane in order: the agents prepare
 * (artifacts, node services, configuration, the distro's install script) while the servers join one
 * after another, which on a real site takes minutes.
 */
export interface Lanes<Ctx extends PhaseContext> {
  lanes: Array<{ hosts: (host: PlannedHost) => boolean; phases: Array<Phase<Ctx> | PerHost<Ctx>> }>;
}

/**
 * Phases each host goes through at its own pace: a host starts the next as soon as it has finished
 * the one before, without waiting for the others (for work that needs no other host).
 */
export interface PerHost<Ctx extends PhaseContext> {
  perHost: Array<Phase<Ctx>>;
}

export type Step<Ctx extends PhaseContext> = Phase<Ctx> | Lanes<Ctx> | PerHost<Ctx>;

/** Runs phases in order over every host. */
export function runPhases<Ctx extends PhaseContext>(
  phases: Array<Phase<Ctx>>,
  ctx: Ctx,
  options: RunOptions,
): Promise<InstallReport> {
  return runSteps(phases, ctx, options);
}

/**
 * Runs steps in order: a phase over every host it concerns, phases per host, or lanes side by side.
 * A host that failed drops out of every later phase; a "stop-run" failure (or an essential host's)
 * ends the run once the work under way finishes; retries happen only for transient faults (the
 * retry policy decides which). One concurrency limit covers everything in flight.
 */
export async function runSteps<Ctx extends PhaseContext>(
  steps: Array<Step<Ctx>>,
  ctx: Ctx,
  options: RunOptions,
): Promise<InstallReport> {
  const run = new Run(ctx, options);
  try {
    for (const step of steps) {
      if (run.report.stopped) break;
      if ("lanes" in step) await Promise.all(step.lanes.map((lane) => run.sequence(lane.phases, lane.hosts)));
      else await run.step(step);
    }
  } finally {
    await run.cleanup();
  }
  run.report.ok = run.report.failures.length === 0;
  return run.report;
}

class Run<Ctx extends PhaseContext> {
  readonly report: InstallReport = { ok: true, failures: [], phases: [], stopped: false };
  private readonly failed = new Set<string>();
  private readonly toldSkipped = new Set<string>();
  /** Phases a host has entered, in order: each was prepared once and is cleaned up once. */
  private readonly entered: Array<Phase<Ctx>> = [];
  private readonly limiter: Limiter;

  constructor(
    private readonly ctx: Ctx,
    private readonly options: RunOptions,
  ) {
    this.limiter = createLimiter(options.concurrency);
  }

  async sequence(steps: Array<Phase<Ctx> | PerHost<Ctx>>, inLane: (host: PlannedHost) => boolean): Promise<void> {
    for (const step of steps) {
      if (this.report.stopped) return;
      await this.step(step, inLane);
    }
  }

  step(step: Phase<Ctx> | PerHost<Ctx>, inLane?: (host: PlannedHost) => boolean): Promise<void> {
    return "perHost" in step ? this.perHost(step.perHost, inLane) : this.phase(step, inLane);
  }

  /** Every host this phase concerns, together; the phase ends when the last of them is done. */
  private async phase(phase: Phase<Ctx>, inLane?: (host: PlannedHost) => boolean): Promise<void> {
    const hosts = this.hostsOf(phase, inLane);
    if (hosts.length === 0) return;
    const started = this.started(phase, hosts);
    let phaseFailed = false;
    if (phase.order === "one-at-a-time") {
      for (const host of hosts) {
        phaseFailed = !(await this.runOne(phase, host)) || phaseFailed;
        if (phaseFailed && phase.onFailure !== "host-only") break;
      }
    } else {
      const results = await Promise.all(hosts.map((host) => this.runOne(phase, host)));
      phaseFailed = results.includes(false);
    }
    this.ended(phase, started, phaseFailed);
  }

  /**
   * Each host through the phases in order at its own pace. Who each phase concerns is decided
   * before any of them runs (from the plan and the facts), so a phase is told to have started when
   * its first host enters it and to have ended when its last host has left it or dropped out.
   */
  private async perHost(phases: Array<Phase<Ctx>>, inLane?: (host: PlannedHost) => boolean): Promise<void> {
    const rows = phases.map((phase) => {
      const hosts = this.hostsOf(phase, inLane);
      return {
        phase,
        hosts,
        names: new Set(hosts.map((h) => h.name)),
        left: hosts.length,
        startedAt: 0,
        failed: false,
      };
    });
    const everyone = [...new Map(rows.flatMap((row) => row.hosts).map((h) => [h.name, h])).values()];
    await Promise.all(
      everyone.map(async (host) => {
        let out = false;
        for (const row of rows) {
          if (!row.names.has(host.name)) continue;
          if (!out && !this.report.stopped) {
            if (row.startedAt === 0) row.startedAt = this.started(row.phase, row.hosts);
            out = !(await this.runOne(row.phase, host));
            row.failed ||= out;
          }
          if (--row.left === 0 && row.startedAt > 0) this.ended(row.phase, row.startedAt, row.failed);
        }
      }),
    );
  }

  /** The hosts a phase concerns (in this lane, not failed); counts them and tells when nobody has anything to do. */
  private hostsOf(phase: Phase<Ctx>, inLane?: (host: PlannedHost) => boolean): PlannedHost[] {
    const concerned = phase.hosts(this.ctx).filter((h) => !this.failed.has(h.name));
    const hosts = inLane ? concerned.filter(inLane) : concerned;
    this.count(phase.title, hosts.length);
    // In lanes, "nothing to do" only when no lane has anything to do.
    if (concerned.length === 0 && !this.toldSkipped.has(phase.title)) {
      this.toldSkipped.add(phase.title);
      this.ctx.events.emit({
        level: "info",
        kind: "install.phase.skip",
        phase: phase.title,
        message: `${phase.title}: nothing to do`,
      });
    }
    return hosts;
  }

  /** Every entered phase's cleanup, last entered first; a failing cleanup is a warning, not the run's failure. */
  async cleanup(): Promise<void> {
    for (const phase of [...this.entered].reverse()) {
      try {
        await phase.cleanup?.(this.ctx);
      } catch (error) {
        this.ctx.events.emit({
          level: "warn",
          kind: "install.phase.cleanup",
          phase: phase.title,
          message: `${phase.title}: cleaning up failed (${(error as Error).message})`,
        });
      }
    }
  }

  private started(phase: Phase<Ctx>, hosts: PlannedHost[]): number {
    if (!this.entered.includes(phase)) {
      this.entered.push(phase);
      phase.prepare?.(this.ctx);
    }
    this.ctx.events.emit({
      level: "info",
      kind: "install.phase.start",
      phase: phase.title,
      message: `${phase.title} (${hosts.map((h) => h.name).join(", ")})`,
      detail: { hosts: hosts.map((h) => h.name) },
    });
    return Date.now();
  }

  private ended(phase: Phase<Ctx>, startedAt: number, failed: boolean): void {
    this.ctx.events.emit({
      level: failed ? "error" : "info",
      kind: "install.phase.end",
      phase: phase.title,
      message: `${phase.title}: ${failed ? "failed" : "done"}`,
      detail: { ms: Date.now() - startedAt },
    });
  }

  /** One host through one phase under the concurrency limit; false when it failed (and dropped out). */
  private async runOne(phase: Phase<Ctx>, host: PlannedHost): Promise<boolean> {
    const error = await this.limiter.run(() => runHost(phase, host, this.ctx, this.options.retry ?? DEFAULT_RETRY));
    if (error === undefined) return true;
    this.failed.add(host.name);
    this.report.failures.push({
      host: host.name,
      phase: phase.title,
      reason: error.message,
      ...(error.hint ? { hint: error.hint } : {}),
    });
    if (phase.onFailure === "stop-run" || this.options.essential?.(host)) this.report.stopped = true;
    return false;
  }

  /** One report row per phase title, however many lanes ran it. */
  private count(title: string, hosts: number): void {
    const row = this.report.phases.find((p) => p.title === title);
    if (row) {
      row.hosts += hosts;
      row.skipped = row.hosts === 0;
    } else this.report.phases.push({ title, hosts, skipped: hosts === 0 });
  }
}

async function runHost<Ctx extends PhaseContext>(
  phase: Phase<Ctx>,
  host: PlannedHost,
  ctx: Ctx,
  retry: RetryPolicy,
): Promise<{ message: string; hint?: string } | undefined> {
  const base = { host: host.name, phase: phase.title };
  ctx.events.emit({ ...base, level: "info", kind: "install.host.start", message: "started" });
  try {
    await withRetry(
      retry,
      () => phase.run(host, ctx),
      (error, attempt, delayMs) =>
        ctx.events.emit({
          ...base,
          level: "warn",
          kind: "install.host.retry",
          message: `attempt ${attempt} failed (${error.message}); retrying in ${(delayMs / 1000).toFixed(1)} s`,
        }),
    );
    ctx.events.emit({ ...base, level: "info", kind: "install.host.done", message: "done" });
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const hint = (error as { hint?: unknown }).hint;
    ctx.events.emit({
      ...base,
      level: "error",
      kind: "install.host.fail",
      message,
      ...(typeof hint === "string" ? { detail: { hint } } : {}),
    });
    return typeof hint === "string" ? { message, hint } : { message };
  }
}

/** The `change` door for a context: acts, or in a dry run only reports. */
export function changeDoor(events: PhaseContext["events"], dryRun: boolean): PhaseContext["change"] {
  return async (host, description, action) => {
    if (dryRun) {
      events.emit({ level: "info", kind: "install.change.planned", host: host.name, message: `would ${description}` });
      return undefined;
    }
    events.emit({ level: "info", kind: "install.change", host: host.name, message: description });
    return action();
  };
}
