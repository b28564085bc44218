import { runPool } from "../concurrency/pool.js";
import { DEFAULT_RETRY, type RetryPolicy, withRetry } from "../concurrency/retry.js";
import type { PlannedHost } from "../plan/types.js";
import type { Phase, PhaseContext } from "./phase.js";

export interface RunOptions {
  /** Hosts worked on at once in a parallel phase. */
  concurrency: number;
  retry?: RetryPolicy;
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
  /** Phases that ran, with how many hosts each concerned. */
  phases: Array<{ title: string; hosts: number; skipped: boolean }>;
  /** True when a "stop-run" failure ended the run early. */
  stopped: boolean;
}

/**
 * Runs phases in order. A host that failed drops out of every later phase; a "stop-run" failure
 * ends the run; retries happen only for transient faults (the retry policy decides which).
 */
export async function runPhases<Ctx extends PhaseContext>(
  phases: Array<Phase<Ctx>>,
  ctx: Ctx,
  options: RunOptions,
): Promise<InstallReport> {
  const failures: HostFailure[] = [];
  const failed = new Set<string>();
  const report: InstallReport = { ok: true, failures, phases: [], stopped: false };

  for (const phase of phases) {
    const hosts = phase.hosts(ctx).filter((h) => !failed.has(h.name));
    report.phases.push({ title: phase.title, hosts: hosts.length, skipped: hosts.length === 0 });
    if (hosts.length === 0) {
      ctx.events.emit({
        level: "info",
        kind: "install.phase.skip",
        phase: phase.title,
        message: `${phase.title}: nothing to do`,
      });
      continue;
    }
    ctx.events.emit({
      level: "info",
      kind: "install.phase.start",
      phase: phase.title,
      message: `${phase.title} (${hosts.map((h) => h.name).join(", ")})`,
      detail: { hosts: hosts.map((h) => h.name) },
    });
    const started = Date.now();
    const runOne = async (host: PlannedHost): Promise<boolean> => {
      const error = await runHost(phase, host, ctx, options.retry ?? DEFAULT_RETRY);
      if (error === undefined) return true;
      failed.add(host.name);
      failures.push({
        host: host.name,
        phase: phase.title,
        reason: error.message,
        ...(error.hint ? { hint: error.hint } : {}),
      });
      return false;
    };
    let phaseFailed = false;
    if (phase.order === "one-at-a-time") {
      for (const host of hosts) {
        if (!(await runOne(host))) {
          phaseFailed = true;
          if (phase.onFailure !== "host-only") break;
        }
      }
    } else {
      const results = await runPool(hosts, options.concurrency, runOne);
      phaseFailed = results.includes(false);
    }
    ctx.events.emit({
      level: phaseFailed ? "error" : "info",
      kind: "install.phase.end",
      phase: phase.title,
      message: `${phase.title}: ${phaseFailed ? "failed" : "done"}`,
      detail: { ms: Date.now() - started },
    });
    if (phaseFailed && phase.onFailure === "stop-run") {
      report.stopped = true;
      break;
    }
  }
  report.ok = failures.length === 0;
  return report;
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
