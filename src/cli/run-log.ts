import type { Events } from "../events.js";
import { writeHostLogs } from "../install/host-logs.js";
import type { PlannedSite } from "./common.js";

/**
 * A run's log in the state dir, `logs/<run>/` (the run named by its start time), which
 * `airstrap dashboard` reads back to show the last run.
 */
export function startRunLog(site: PlannedSite, events: Events) {
  return writeHostLogs(events, site.state.file("logs"), new Date().toISOString().replace(/[:.]/g, "-"));
}

/** The run's outcome as an event: the status page's summary, and the run log's last line. */
export function endOfRun(events: Events, ok: boolean, message: string, next: string[]): void {
  events.emit({ level: ok ? "info" : "error", kind: "run.end", message, detail: { ok, next } });
}
