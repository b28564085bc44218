import type { ServerResponse } from "node:http";
import { nameSelected, watchedCollection } from "./api.js";
import type { KubeObject, ObjectStore, StoreEntry } from "./store.js";

/**
 * SIMULATION of the Kubernetes watch (`?watch=1`): newline-delimited JSON events (ADDED,
 * MODIFIED, DELETED), BOOKMARK events when asked for (`allowWatchBookmarks=true`), and an
 * ERROR event with a 410 Status when the asked resourceVersion is older than the history kept —
 * as the real API server does after etcd compacted it. The history is a bounded log of the
 * changes this server's copy applied since it started.
 */
export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED";
  key: string;
  object: KubeObject;
  version: number;
}

export class WatchHub {
  private readonly log: WatchEvent[] = [];
  private readonly current = new Map<string, KubeObject>();
  private readonly subscribers = new Set<(event: WatchEvent) => void>();
  /** Versions at or below this are no longer in the log: a watch from there must re-list. */
  private horizon: number;

  constructor(
    private readonly store: ObjectStore,
    private readonly capacity = 1000,
  ) {
    for (const entry of store.snapshot()) if (!entry.deleted && entry.object) this.current.set(entry.key, entry.object);
    this.horizon = store.currentVersion();
    store.onChange((entry) => this.record(entry));
  }

  /** Forgets the history, as a compaction does: every watch from an older version gets 410 Gone. */
  compact(): void {
    this.log.length = 0;
    this.horizon = this.store.currentVersion();
  }

  /**
   * The events after `since` under `prefix`, then every later one as it happens; undefined when
   * the history no longer reaches back to `since`.
   */
  subscribe(
    prefix: string,
    since: number,
    listener: (event: WatchEvent) => void,
  ): { replay: WatchEvent[]; stop(): void } | undefined {
    if (since < this.horizon) return undefined;
    const replay = this.log.filter((event) => event.version > since && event.key.startsWith(prefix));
    const filtered = (event: WatchEvent) => {
      if (event.key.startsWith(prefix)) listener(event);
    };
    this.subscribers.add(filtered);
    return { replay, stop: () => this.subscribers.delete(filtered) };
  }

  /** What exists now under `prefix`, as the ADDED events a watch without a resourceVersion starts with. */
  existing(prefix: string): WatchEvent[] {
    return [...this.current]
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, object]) => ({ type: "ADDED", key, object, version: Number(object.metadata?.resourceVersion ?? 0) }));
  }

  private record(entry: StoreEntry): void {
    const previous = this.current.get(entry.key);
    let event: WatchEvent;
    if (entry.deleted || !entry.object) {
      if (!previous) return;
      this.current.delete(entry.key);
      const metadata = { ...(previous.metadata ?? {}), resourceVersion: String(entry.version) };
      event = { type: "DELETED", key: entry.key, object: { ...previous, metadata }, version: entry.version };
    } else {
      this.current.set(entry.key, entry.object);
      event = { type: previous ? "MODIFIED" : "ADDED", key: entry.key, object: entry.object, version: entry.version };
    }
    this.log.push(event);
    if (this.log.length > this.capacity) this.horizon = this.log.shift()!.version;
    for (const subscriber of this.subscribers) subscriber(event);
  }
}

export interface WatchOptions {
  /** How often a bookmark is sent when the client allows them (the real server: about a minute). */
  bookmarkMs: number;
}

/** True for `?watch=1` / `?watch=true`. */
export function isWatch(path: string): boolean {
  const watch = new URLSearchParams(path.split("?")[1] ?? "").get("watch");
  return watch === "1" || watch === "true";
}

/** Streams a watch on the collection `path` names into `res`, until the client goes or timeoutSeconds pass. */
export function serveWatch(
  hub: WatchHub,
  store: ObjectStore,
  path: string,
  res: ServerResponse,
  options: WatchOptions,
): void {
  const collection = watchedCollection(path);
  if (collection === undefined) {
    res.writeHead(405, { "content-type": "application/json" });
    res.end(JSON.stringify({ kind: "Status", status: "Failure", code: 405, message: "watch needs a collection" }));
    return;
  }
  const { prefix, kind } = collection;
  const query = new URLSearchParams(path.split("?")[1] ?? "");
  const named = nameSelected(path);
  const asked = query.get("resourceVersion");
  const bookmarks = query.get("allowWatchBookmarks") === "true";
  const timeoutSeconds = Number(query.get("timeoutSeconds") ?? "0");
  res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
  const send = (type: string, object: unknown) => res.write(`${JSON.stringify({ type, object })}\n`);
  const wanted = (event: WatchEvent) => named === undefined || event.object.metadata?.name === named;
  let sent = asked && asked !== "0" ? Number(asked) : store.currentVersion();
  const deliver = (event: WatchEvent) => {
    if (!wanted(event)) return;
    sent = Math.max(sent, event.version);
    send(event.type, event.object);
  };
  const initial = asked && asked !== "0" ? [] : hub.existing(prefix);
  const subscription = hub.subscribe(prefix, sent, deliver);
  if (!subscription) {
    send("ERROR", {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: `too old resource version: ${asked} (${store.currentVersion()})`,
      reason: "Expired",
      code: 410,
    });
    res.end();
    return;
  }
  for (const event of [...initial, ...subscription.replay]) deliver(event);
  const timers: NodeJS.Timeout[] = [];
  if (bookmarks) {
    timers.push(
      setInterval(() => {
        sent = Math.max(sent, store.currentVersion());
        send("BOOKMARK", { kind, metadata: { resourceVersion: String(sent) } });
      }, options.bookmarkMs),
    );
  }
  const stop = () => {
    subscription.stop();
    for (const timer of timers) clearInterval(timer);
  };
  if (timeoutSeconds > 0) timers.push(setTimeout(() => res.end(), timeoutSeconds * 1000));
  res.on("close", stop);
}
