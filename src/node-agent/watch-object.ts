import { setTimeout as sleep } from "node:timers/promises";
import type { Events } from "../events.js";
import type { KubeClient } from "../kube/client.js";

/**
 * Follows one named object through the Kubernetes API the way client-go's reflector does: list
 * it (with a field selector, so RBAC's resourceNames can allow it), then watch from the list's
 * resourceVersion, with bookmarks; a watch the server ends is reopened from the last version
 * seen; 410 Gone (the version was compacted away) lists again; a failure waits and retries with
 * exponential backoff. `onObject` sees every state of the object (undefined: it does not exist).
 */
export interface ObjectWatchConfig {
  /** The collection, e.g. /api/v1/namespaces/airstrap-system/configmaps */
  collectionPath: string;
  name: string;
  /** Asked of the server: it ends each watch after this long, and the client opens the next. */
  timeoutSeconds: number;
  backoff: { initialMs: number; maxMs: number };
}

type Versioned = { metadata?: { resourceVersion?: string } };
type WatchLine<T> = { type: string; object?: T & { code?: number; message?: string } };

export interface RunningObjectWatch {
  stop(): Promise<void>;
}

class Gone extends Error {}

export function watchObject<T extends Versioned>(
  client: KubeClient,
  config: ObjectWatchConfig,
  onObject: (object: T | undefined) => Promise<void>,
  events: Events,
): RunningObjectWatch {
  const abort = new AbortController();
  const selector = `fieldSelector=${encodeURIComponent(`metadata.name=${config.name}`)}`;
  const what = `${config.collectionPath}/${config.name}`;

  async function list(): Promise<string> {
    const answer = await client.getJson<{ metadata?: { resourceVersion?: string }; items?: T[] }>(
      `${config.collectionPath}?${selector}`,
    );
    await onObject(answer.items?.[0]);
    const version = answer.metadata?.resourceVersion;
    if (!version) throw new Error(`the list of ${what} has no resourceVersion`);
    return version;
  }

  /** The last resourceVersion seen (list, event or bookmark): where the next watch starts. */
  let version: string | undefined;

  /** One watch, until the server ends it; says whether any event came. */
  async function watch(from: string): Promise<boolean> {
    const path = `${config.collectionPath}?watch=1&${selector}&resourceVersion=${encodeURIComponent(from)}&allowWatchBookmarks=true&timeoutSeconds=${config.timeoutSeconds}`;
    const response = await client.watch(path, (config.timeoutSeconds + 30) * 1000, abort.signal);
    if (response.statusCode === 410) {
      response.resume();
      throw new Gone();
    }
    if (response.statusCode !== 200) {
      response.resume();
      throw new Error(`watch ${what}: HTTP ${response.statusCode}`);
    }
    let heard = false;
    let pending = "";
    for await (const chunk of response) {
      pending += (chunk as Buffer).toString("utf8");
      let newline = pending.indexOf("\n");
      while (newline >= 0) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        newline = pending.indexOf("\n");
        if (line === "") continue;
        const event = JSON.parse(line) as WatchLine<T>;
        heard = true;
        if (event.type === "ERROR") {
          if (event.object?.code === 410) throw new Gone();
          throw new Error(`watch ${what}: ${event.object?.message ?? "error event"}`);
        }
        if (event.type === "ADDED" || event.type === "MODIFIED") await onObject(event.object);
        else if (event.type === "DELETED") await onObject(undefined);
        else if (event.type === "BOOKMARK") {
          events.emit({
            level: "debug",
            kind: "node-agent.watch.bookmark",
            message: `${what}: bookmark at resourceVersion ${event.object?.metadata?.resourceVersion}`,
          });
        }
        // After it was applied: a watch cut in the middle starts again from the last one done.
        version = event.object?.metadata?.resourceVersion ?? version;
      }
    }
    return heard;
  }

  const loop = async () => {
    let delay = config.backoff.initialMs;
    const pause = async () => {
      await sleep(delay, undefined, { signal: abort.signal }).catch(() => undefined);
      delay = Math.min(delay * 2, config.backoff.maxMs);
    };
    while (!abort.signal.aborted) {
      try {
        version ??= await list();
        if (await watch(version)) delay = config.backoff.initialMs;
        else await pause();
      } catch (error) {
        if (abort.signal.aborted) break;
        if (error instanceof Gone) {
          events.emit({
            level: "info",
            kind: "node-agent.watch.expired",
            message: `${what}: resourceVersion ${version} is too old (410 Gone); listing again`,
          });
          version = undefined;
          continue;
        }
        events.emit({
          level: "warn",
          kind: "node-agent.unreachable",
          message: `cannot watch ${what}: ${(error as Error).message}; serving the last good configuration, retrying in ${(delay / 1000).toFixed(1)} s`,
        });
        await pause();
      }
    }
  };
  const running = loop();
  return {
    async stop() {
      abort.abort();
      await running;
    },
  };
}
