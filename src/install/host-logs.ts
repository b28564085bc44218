import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Events } from "../events.js";

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
