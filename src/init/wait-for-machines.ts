import { setTimeout as sleep } from "node:timers/promises";
import type { Events } from "../events.js";
import { describeRow, type MachineSteps, STEP_LABELS } from "./machine-steps.js";
import { sshAnswers } from "./ssh-answers.js";

export interface MachineToReach {
  name: string;
  address: string;
  sshPort: number;
}

export interface MachinesOutcome {
  ok: boolean;
  /** Each machine that did not come up: its name, the last step it reached and what went wrong. */
  failures: Array<{ host: string; lastStep: string; reason: string }>;
}

/**
 * Waits until every machine answers SSH (each told as an `init.ssh` event, which the steps pick up)
 * or cannot come up by itself: it reported a failure, or the deadline passed. Ends early when
 * every machine still missing has failed; `signal` ends it at once (Ctrl-C).
 */
export async function waitForMachines(options: {
  machines: MachineToReach[];
  steps: MachineSteps;
  events: Events;
  deadline: number;
  signal?: AbortSignal;
  intervalMs?: number;
  /** Told of a machine the wait itself marked as failed (the deadline passed). */
  onFailed?: (row: ReturnType<MachineSteps["failByName"]>) => void;
}): Promise<MachinesOutcome> {
  const { steps, events } = options;
  const reached = new Set<string>();
  for (;;) {
    const missing = options.machines.filter((m) => !reached.has(m.name));
    await Promise.all(
      missing.map(async (machine) => {
        if (!(await sshAnswers(machine.address, machine.sshPort))) return;
        reached.add(machine.name);
        events.emit({
          level: "info",
          kind: "init.ssh",
          host: machine.name,
          message: `SSH answers at ${machine.address}:${machine.sshPort}`,
        });
      }),
    );
    const still = options.machines.filter((m) => !reached.has(m.name));
    if (still.length === 0) return { ok: true, failures: [] };
    const timedOut = Date.now() >= options.deadline;
    if (timedOut || options.signal?.aborted || still.every((m) => steps.machine(m.name)?.failure !== undefined)) {
      for (const machine of still) {
        if (timedOut && steps.machine(machine.name)?.failure === undefined) {
          const row = steps.failByName(machine.name, "did not answer SSH before --timeout");
          options.onFailed?.(row);
        }
      }
      return { ok: false, failures: still.map((m) => failureOf(steps, m.name)) };
    }
    await sleep(options.intervalMs ?? 3000, undefined, { signal: options.signal }).catch(() => undefined);
  }
}

function failureOf(steps: MachineSteps, name: string): MachinesOutcome["failures"][number] {
  const row = steps.machine(name);
  if (!row) return { host: name, lastStep: STEP_LABELS.waiting, reason: "unknown" };
  const { failure, ...reached } = row;
  // A failure the report itself caused already holds what the machine said.
  const said =
    row.report && !failure?.includes(row.report.message ?? row.report.status)
      ? ` (it reported ${row.report.status}, Ignition ${row.report.ignition}${row.report.message ? `: ${row.report.message}` : ""})`
      : "";
  const where =
    row.step === "waiting" ? "never showed up (no DHCP request)" : `last step: ${describeRow(reached)}${said}`;
  return { host: name, lastStep: STEP_LABELS[row.step], reason: `${where}${failure ? `; ${failure}` : ""}` };
}
