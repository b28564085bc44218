import type { AirstrapEvent, Events } from "../../events.js";
import { colorsFor } from "../terminal.js";
import { TaskTree } from "./task-tree.js";

export type ViewKind = "tree" | "plain" | "json";

/** The view for a stream: a live task tree on a terminal, plain lines otherwise, or JSON lines on request. */
export function chooseView(requested: "text" | "json", stream: NodeJS.WriteStream): ViewKind {
  if (requested === "json") return "json";
  return stream.isTTY === true && process.env.CI === undefined ? "tree" : "plain";
}

export interface AttachedView {
  close(): void;
  /** Stops redrawing until the returned function is called (while a prompt owns the terminal). */
  hold(): () => void;
}

const noHold = () => () => {};

export function attachView(kind: ViewKind, events: Events, stream: NodeJS.WriteStream): AttachedView {
  if (kind === "json") return { close: events.subscribe((e) => stream.write(`${JSON.stringify(e)}\n`)), hold: noHold };
  if (kind === "plain")
    return {
      close: events.subscribe((e) => {
        const line = plainLine(e, stream);
        if (line) stream.write(`${line}\n`);
      }),
      hold: noHold,
    };
  return taskTree(events, stream);
}

/**
 * Plain lines gathered over one turn of the event loop and written together: a service answering
 * a burst of requests makes one write for the burst, not one (synchronous, on a pipe) per event.
 */
export function attachBatchedPlainView(events: Events, stream: NodeJS.WriteStream): { close(): void } {
  let pending: string[] = [];
  const flush = () => {
    const lines = pending;
    pending = [];
    stream.write(`${lines.join("\n")}\n`);
  };
  return {
    close: events.subscribe((e) => {
      const line = plainLine(e, stream);
      if (line === undefined) return;
      if (pending.length === 0) setImmediate(flush);
      pending.push(line);
    }),
  };
}

/** `12:00:01 k8s-agent-01 [Join agents] done` — every line starts with the host, as in k0sctl. */
export function plainLine(event: AirstrapEvent, stream: NodeJS.WriteStream): string | undefined {
  if (event.level === "debug" || event.kind.endsWith(".progress")) return undefined;
  const c = colorsFor(stream);
  const time = event.time.slice(11, 19);
  const who = event.host ?? event.service ?? "airstrap";
  const phase = event.phase ? c.dim(`[${event.phase}] `) : "";
  const level = event.level === "error" ? c.red("error: ") : event.level === "warn" ? c.yellow("warning: ") : "";
  const hint = typeof event.detail?.hint === "string" ? ` ${c.dim(`(hint: ${event.detail.hint})`)}` : "";
  return `${c.dim(time)} ${c.bold(who)} ${phase}${level}${event.message}${hint}`;
}

/** A live per-phase, per-host tree, redrawn at most ten times a second. */
function taskTree(events: Events, stream: NodeJS.WriteStream): AttachedView {
  const c = colorsFor(stream);
  const tree = new TaskTree();
  const icon = {
    running: c.cyan("•"),
    retrying: c.yellow("↻"),
    done: c.green("✔"),
    failed: c.red("✖"),
    skipped: c.dim("–"),
  };
  return liveRedraw(events, stream, {
    apply: (e) => tree.apply(e),
    lines() {
      const lines: string[] = [];
      for (const phase of tree.rows()) {
        lines.push(`${icon[phase.state]} ${phase.state === "skipped" ? c.dim(phase.title) : c.bold(phase.title)}`);
        for (const row of phase.hosts)
          lines.push(`    ${icon[row.state]} ${row.host}${row.note ? c.dim(`  ${row.note}`) : ""}`);
      }
      return lines;
    },
  });
}

/**
 * A drawing redrawn in place at most ten times a second from the events it takes (`apply` true);
 * a warning or error it does not take is printed above it as a plain line (kept while a prompt
 * holds the terminal, printed when the hold ends).
 */
export function liveRedraw(
  events: Events,
  stream: NodeJS.WriteStream,
  drawing: { apply(event: AirstrapEvent): boolean; lines(): string[] },
): AttachedView {
  let drawnLines = 0;
  let pending: NodeJS.Timeout | undefined;
  let held = false;
  /** Warnings and errors that came while held: printed when the hold ends. */
  const waiting: string[] = [];
  const draw = () => {
    pending = undefined;
    if (held) return;
    const lines = drawing.lines();
    stream.write(`${drawnLines > 0 ? `\x1b[${drawnLines}F\x1b[J` : ""}${lines.join("\n")}\n`);
    drawnLines = lines.length;
  };
  const schedule = () => {
    pending ??= setTimeout(draw, 100);
  };

  const unsubscribe = events.subscribe((e) => {
    if (!drawing.apply(e) && (e.level === "error" || e.level === "warn")) {
      const line = plainLine(e, stream);
      if (line && held) waiting.push(line);
      else if (line) {
        stream.write(`${line}\n`);
        drawnLines = 0;
      }
    }
    schedule();
  });
  return {
    close() {
      unsubscribe();
      if (pending) clearTimeout(pending);
      held = false;
      draw();
    },
    hold() {
      held = true;
      return () => {
        held = false;
        // The prompt's lines are below the last drawing: draw afresh under them.
        drawnLines = 0;
        if (waiting.length > 0) stream.write(`${waiting.splice(0).join("\n")}\n`);
        schedule();
      };
    },
  };
}
