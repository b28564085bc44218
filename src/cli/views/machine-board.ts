import type { AirstrapEvent, Events } from "../../events.js";
import { describeRow, type MachineRow } from "../../init/machine-steps.js";
import { colorsFor } from "../terminal.js";
import { type AttachedView, attachView, liveRedraw, plainLine, type ViewKind } from "./event-views.js";

/**
 * `airstrap init`'s view: one row per machine (the manifest's, then unknown ones) with the step it
 * reached, fed by the `init.machine` events the step tracker emits. On a terminal the rows are
 * redrawn in place with the install's phases under them; plain lines otherwise (each machine's
 * change, the phases, warnings and errors); JSON lines carry every event as they are.
 */
export function attachMachineBoard(kind: ViewKind, events: Events, stream: NodeJS.WriteStream): AttachedView {
  if (kind === "json") return attachView("json", events, stream);
  if (kind === "plain") {
    return {
      close: events.subscribe((event) => {
        if (!worthALine(event)) return;
        const line = plainLine(event, stream);
        if (line) stream.write(`${line}\n`);
      }),
      hold: () => () => {},
    };
  }
  return liveBoard(events, stream);
}

const LINE_KINDS = new Set([
  "init.machine",
  "init.previous",
  "init.power-on",
  "serve.ready",
  "serve.stopped",
  "kube.wait",
  "run.end",
]);

function worthALine(event: AirstrapEvent): boolean {
  if (LINE_KINDS.has(event.kind) || event.kind === "install.phase.start" || event.kind === "install.phase.end")
    return true;
  // The steps already say what these say, machine by machine.
  if (event.kind.startsWith("dhcp.") || event.kind.startsWith("boot.")) return event.level === "error";
  return event.level === "warn" || event.level === "error";
}

function liveBoard(events: Events, stream: NodeJS.WriteStream): AttachedView {
  const c = colorsFor(stream);
  const rows = new Map<string, MachineRow>();
  let phase = "";
  return liveRedraw(events, stream, {
    apply(event) {
      if (event.kind === "init.machine") {
        const row = event.detail as unknown as MachineRow;
        rows.set(row.mac, row);
        return true;
      }
      if (event.kind === "install.phase.start" || event.kind === "kube.wait") {
        phase = event.message;
        return true;
      }
      // The rows already say what the boot services' warnings say, machine by machine.
      return (event.kind.startsWith("dhcp.") || event.kind.startsWith("boot.")) && event.level !== "error";
    },
    lines() {
      const width = Math.max(4, ...[...rows.values()].map((row) => (row.name ?? "unknown").length));
      const lines = [...rows.values()].map((row) => {
        const icon = row.failure
          ? c.red("✖")
          : !row.known
            ? c.yellow("?")
            : row.step === "ready"
              ? c.green("✔")
              : c.cyan("•");
        return `${icon} ${(row.name ?? "unknown").padEnd(width)}  ${c.dim(row.mac)}  ${describeRow(row)}`;
      });
      if (phase) lines.push(c.dim(phase));
      return lines;
    },
  });
}
