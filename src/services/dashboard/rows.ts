import type { AirstrapEvent } from "../../events.js";

/** One line of the page's event list: what an operator reads (the detail stays on the server). */
export interface EventRow {
  time: string;
  level: AirstrapEvent["level"];
  kind: string;
  host?: string;
  message: string;
}

export function eventRow(event: AirstrapEvent): EventRow {
  return {
    time: event.time,
    level: event.level,
    kind: event.kind,
    ...(event.host === undefined ? {} : { host: event.host }),
    message: event.message,
  };
}
