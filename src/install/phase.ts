import type { Events } from "../events.js";
import type { Host } from "../hosts/host.js";
import type { Plan, PlannedHost } from "../plan/types.js";

/**
 * One step of an install, k0sctl style: it says which hosts it concerns (decided from the plan and
 * the facts gathered so far, so a re-run selects only hosts that still need work) and what to do
 * on one host. The runner owns concurrency, retries, events and dry-run.
 */
export interface Phase<Ctx extends PhaseContext = PhaseContext> {
  title: string;
  /** The hosts this phase concerns; none means the phase is skipped. */
  hosts(ctx: Ctx): PlannedHost[];
  /** "parallel" runs hosts through the pool; "one-at-a-time" waits for each before the next (etcd joins). */
  order: "parallel" | "one-at-a-time";
  /**
   * What a failed host means: "stop-run" (nothing after can work, e.g. the primary server);
   * "stop-phase" (the rest of a one-at-a-time sequence is not started; later phases still run for
   * hosts that did not fail); "host-only" (that host drops out, others go on).
   */
  onFailure: "stop-run" | "stop-phase" | "host-only";
  run(host: PlannedHost, ctx: Ctx): Promise<void>;
  /**
   * Run by the runner once, before the first host enters the phase (whichever lane it is in): what
   * the phase provides to its hosts and to later phases is made here, never by whichever host
   * happens to run first.
   */
  prepare?(ctx: Ctx): void;
  /**
   * Run by the runner once when the whole run ends, however it ends (a failure, a stopped run, an
   * exception), for a phase that was entered: undoes what the phase leaves running only for the run.
   */
  cleanup?(ctx: Ctx): Promise<void>;
}

export interface PhaseContext {
  plan: Plan;
  events: Events;
  dryRun: boolean;
  /** The transport for each host, by name. */
  hosts: ReadonlyMap<string, Host>;
  /**
   * The one door for every change to a machine: in a dry run it is reported and not made.
   * Returns the action's result, or undefined in a dry run.
   */
  change<T>(host: PlannedHost, description: string, action: () => Promise<T>): Promise<T | undefined>;
}

/** A failure that must not be retried and says what the operator can do (wrong token, failed command). */
export class PhaseFailure extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "PhaseFailure";
  }
}
