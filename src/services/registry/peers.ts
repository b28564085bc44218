import { readFile } from "node:fs/promises";
import type { Events } from "../../events.js";
import type { Repositories } from "../../store/repositories.js";
import { replicateFrom } from "./replicate.js";

/**
 * Background replication: every interval, copy from each peer what this store lacks. A run
 * never overlaps the previous one; close() aborts the run in flight (the next start resumes).
 */
export function startReplication(
  repos: Repositories,
  peers: string[],
  options: { events: Events; intervalMs: number; rateBytesPerSecond?: number; caFile?: string },
): { stop(): Promise<void> } {
  const abort = new AbortController();
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  async function runOnce(): Promise<void> {
    const ca = options.caFile ? await readFile(options.caFile) : undefined;
    for (const peer of peers) {
      if (abort.signal.aborted) return;
      try {
        await replicateFrom(repos, peer, {
          events: options.events,
          signal: abort.signal,
          ...(ca ? { ca } : {}),
          ...(options.rateBytesPerSecond ? { rateBytesPerSecond: options.rateBytesPerSecond } : {}),
        });
      } catch (error) {
        if (abort.signal.aborted) return;
        options.events.emit({
          level: "warn",
          kind: "registry.replicate.failed",
          service: "registry",
          message: `replication from ${peer} failed: ${(error as Error).message}; retrying in ${options.intervalMs / 1000}s`,
          detail: { peer },
        });
      }
    }
  }

  const schedule = (delay: number) => {
    timer = setTimeout(() => {
      running = runOnce().finally(() => {
        if (!abort.signal.aborted) schedule(options.intervalMs);
      });
    }, delay);
    timer.unref();
  };
  if (peers.length > 0) schedule(0);

  return {
    async stop() {
      abort.abort();
      clearTimeout(timer);
      await running.catch(() => undefined);
    },
  };
}
