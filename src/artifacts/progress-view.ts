import type { AirstrapEvent, Events } from "../events.js";

interface Transfer {
  bytes: number;
  total: number | undefined;
}

const BAR_WIDTH = 30;

/** One progress line: name, bar, percent and sizes; a long name is shortened to fit `columns`. Pure. */
export function progressLine(
  name: string,
  bytes: number,
  total: number | undefined,
  width = BAR_WIDTH,
  columns = Number.POSITIVE_INFINITY,
): string {
  let tail = ` ${mib(bytes)}`;
  if (total !== undefined && total > 0) {
    const ratio = Math.min(1, bytes / total);
    const filled = Math.round(ratio * width);
    tail = ` [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}% ${mib(bytes)}/${mib(total)}`;
  }
  const room = columns - tail.length;
  const shown = name.length <= room ? name : `${name.slice(0, Math.max(1, room - 1))}…`;
  return `${shown}${tail}`;
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/**
 * Shows artifact and bundle events: live bars redrawn in place on a terminal, plain lines
 * otherwise (CI logs, pipes), where progress is reported every 10% instead.
 */
export function attachProgressView(events: Events, stream: NodeJS.WriteStream): () => void {
  const tty = stream.isTTY === true && process.env.TERM !== "dumb";
  const transfers = new Map<string, Transfer>();
  const printedStep = new Map<string, number>();
  let drawn = 0;
  let lastDraw = 0;

  const clear = () => {
    if (drawn > 0) stream.write(`\x1b[${drawn}A\x1b[J`);
    drawn = 0;
  };
  const draw = (force = false) => {
    const now = Date.now();
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
    clear();
    const columns = stream.columns ?? 100;
    for (const [name, t] of transfers)
      stream.write(`${progressLine(name, t.bytes, t.total, BAR_WIDTH, columns - 1)}\n`);
    drawn = transfers.size;
  };
  const print = (line: string) => {
    if (tty) clear();
    stream.write(`${line}\n`);
    if (tty) draw(true);
  };

  const onEvent = (event: AirstrapEvent) => {
    const detail = (event.detail ?? {}) as { name?: string; bytes?: number; total?: number };
    const name = event.kind.startsWith("bundle.") ? "bundle" : (detail.name ?? "");
    if (event.kind.endsWith(".progress")) {
      if (tty) {
        transfers.set(name, { bytes: detail.bytes ?? 0, total: detail.total });
        draw();
      } else if (detail.total) {
        const step = Math.floor(((detail.bytes ?? 0) / detail.total) * 10);
        if (step > (printedStep.get(name) ?? 0)) {
          printedStep.set(name, step);
          stream.write(`${name}: ${step * 10}%\n`);
        }
      }
      return;
    }
    if (event.kind.endsWith(".done") || event.kind.endsWith(".fail") || event.kind.endsWith(".skip"))
      transfers.delete(name);
    if (event.level === "debug") return;
    print(`${event.level === "info" ? "" : `${event.level}: `}${event.message}`);
  };
  const unsubscribe = events.subscribe(onEvent);
  return () => {
    unsubscribe();
    if (tty) clear();
  };
}
