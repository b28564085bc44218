import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { AirstrapEvent, Events } from "../events.js";

/**
 * Per-host logs of one run in the state dir: `logs/<run>/<host>.log` (0600), plus `airstrap.log`
 * for events that concern no host. Every event is a JSON line, so tools can read them back.
 */
export async function writeHostLogs(
  events: Events,
  logsDir: string,
  runId: string,
): Promise<{ dir: string; close(): Promise<void> }> {
  const dir = join(logsDir, runId);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const streams = new Map<string, WriteStream>();
  const streamFor = (name: string) => {
    let stream = streams.get(name);
    if (!stream) {
      stream = createWriteStream(join(dir, `${name}.log`), { flags: "a", mode: 0o600 });
      streams.set(name, stream);
    }
    return stream;
  };
  const unsubscribe = events.subscribe((event) => {
    if (event.kind.endsWith(".progress")) return;
    streamFor(event.host ?? "airstrap").write(`${JSON.stringify(event)}\n`);
  });
  return {
    dir,
    async close() {
      unsubscribe();
      await Promise.all([...streams.values()].map((s) => new Promise<void>((resolve) => s.end(resolve))));
    },
  };
}

/** The events of the last run under `logsDir`, in the order they happened; none when no run was logged. */
export async function readLastRun(logsDir: string): Promise<{ runId?: string; events: AirstrapEvent[] }> {
  const runs = (await readdir(logsDir, { withFileTypes: true }).catch(() => []))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const runId = runs.at(-1);
  if (runId === undefined) return { events: [] };
  const dir = join(logsDir, runId);
  const events: AirstrapEvent[] = [];
  for (const name of (await readdir(dir)).filter((n) => n.endsWith(".log")).sort()) {
    for (const line of (await readFile(join(dir, name), "utf8")).split("\n")) {
      const event = parseLine(line);
      if (event !== undefined) events.push(event);
    }
  }
  // Run ids and event times are ISO timestamps: they sort as text. The sort is stable within a host.
  events.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  return { runId, events };
}

/** A log line as an event; a torn last line (the run was killed mid-write) is skipped. */
function parseLine(line: string): AirstrapEvent | undefined {
  if (line.trim() === "") return undefined;
  try {
    const value = JSON.parse(line) as Partial<AirstrapEvent>;
    if (typeof value.time !== "string" || typeof value.kind !== "string" || typeof value.message !== "string")
      return undefined;
    return value as AirstrapEvent;
  } catch {
    return undefined;
  }
}
