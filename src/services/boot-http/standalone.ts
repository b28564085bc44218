import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Events } from "../../events.js";
import type { BootHttpConfig } from "./config.js";
import { type RunningBootHttp, startBootHttp } from "./service.js";

/**
 * The boot server on its own (`airstrap boot serve`): reloads on request (SIGHUP) and when a file
 * under the data folder changes, noticed by looking at the folder's names, sizes and times.
 */

/** How often the data folder is looked at; a generated folder changes rarely, a person expects about a second. */
export const WATCH_INTERVAL_MS = 1000;

export interface StandaloneBootHttp {
  service: RunningBootHttp;
  /** Reads the data folder again; a refused reload is reported as an event and the old data stays. */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

export async function runBootHttp(
  config: BootHttpConfig,
  events: Events,
  options: { watchIntervalMs?: number } = {},
): Promise<StandaloneBootHttp> {
  const service = await startBootHttp(config, events);
  let reloading: Promise<void> = Promise.resolve();
  const reload = () => {
    // One reload at a time; a change during a reload is picked up by the next one.
    reloading = reloading.then(() => service.reload(config).catch(() => undefined));
    return reloading;
  };
  let seen = await folderState(config.dataDir);
  let looking = false;
  const timer =
    options.watchIntervalMs === 0
      ? undefined
      : setInterval(async () => {
          if (looking) return;
          looking = true;
          try {
            const now = await folderState(config.dataDir);
            if (now !== seen) {
              seen = now;
              await reload();
            }
          } finally {
            looking = false;
          }
        }, options.watchIntervalMs ?? WATCH_INTERVAL_MS);
  return {
    service,
    reload,
    async stop() {
      clearInterval(timer);
      await reloading;
      await service.close();
    },
  };
}

/** Names, sizes and modification times of every file under the folder, as one comparable string. */
async function folderState(dir: string): Promise<string> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  const lines = await Promise.all(
    entries
      .filter((entry) => entry.isFile())
      .map(async (entry) => {
        const path = join(entry.parentPath ?? entry.path, entry.name);
        const info = await stat(path).catch(() => undefined);
        return info ? `${path} ${info.size} ${info.mtimeMs} ${info.ino}` : path;
      }),
  );
  return lines.sort().join("\n");
}
