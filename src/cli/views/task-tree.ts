import type { AirstrapEvent } from "../../events.js";

export type RowState = "running" | "done" | "failed" | "retrying" | "skipped";

interface HostRow {
  state: RowState;
  note: string;
}

interface PhaseRow {
  title: string;
  state: RowState;
  /** Lanes running this phase right now; it is done when the last one ends. */
  running: number;
  failed: boolean;
  hosts: Map<string, HostRow>;
}

/**
 * The install's phases and hosts as the events tell them. Phases can run in two lanes at once (the
 * agents prepare while the servers join), so a host's events go to the phase it last started, not
 * to the newest phase.
 */
export class TaskTree {
  private readonly phases: PhaseRow[] = [];
  private readonly phaseOfHost = new Map<string, PhaseRow>();

  /** Applies one event; false when the event is not part of the tree (the caller prints it as a line). */
  apply(e: AirstrapEvent): boolean {
    if (e.kind === "install.phase.start") {
      const phase = this.phase(e.phase ?? "");
      phase.running++;
      phase.state = "running";
      return true;
    }
    if (e.kind === "install.phase.skip") {
      this.phase(e.phase ?? "").state = "skipped";
      return true;
    }
    if (e.kind === "install.phase.end") {
      const phase = this.phase(e.phase ?? "");
      phase.running = Math.max(0, phase.running - 1);
      phase.failed ||= e.level === "error";
      if (phase.running === 0) phase.state = phase.failed ? "failed" : "done";
      return true;
    }
    if (!e.host) return false;
    if (e.kind === "install.host.start" && e.phase) this.phaseOfHost.set(e.host, this.phase(e.phase));
    const phase = (e.phase ? this.phases.find((p) => p.title === e.phase) : undefined) ?? this.phaseOfHost.get(e.host);
    if (!phase) return false;
    const row = phase.hosts.get(e.host) ?? { state: "running", note: "" };
    if (e.kind === "install.host.done") row.state = "done";
    else if (e.kind === "install.host.fail") Object.assign(row, { state: "failed", note: e.message });
    else if (e.kind === "install.host.retry") Object.assign(row, { state: "retrying", note: e.message });
    else if (
      e.kind.endsWith(".progress") &&
      typeof e.detail?.sent === "number" &&
      typeof e.detail?.total === "number"
    ) {
      row.note = `${e.message} ${Math.floor((100 * e.detail.sent) / Math.max(1, e.detail.total))}%`;
    } else if (e.level !== "debug") row.note = e.message;
    phase.hosts.set(e.host, row);
    return true;
  }

  /** Phases in the order they first started; the hosts only of phases still running or failed. */
  rows(): Array<{ title: string; state: RowState; hosts: Array<{ host: string } & HostRow> }> {
    return this.phases.map((p) => ({
      title: p.title,
      state: p.state,
      hosts: p.state === "done" || p.state === "skipped" ? [] : [...p.hosts].map(([host, row]) => ({ host, ...row })),
    }));
  }

  private phase(title: string): PhaseRow {
    let phase = this.phases.find((p) => p.title === title);
    if (!phase) {
      phase = { title, state: "running", running: 0, failed: false, hosts: new Map() };
      this.phases.push(phase);
    }
    return phase;
  }
}
