/**
 * SIMULATION of the cluster's datastore: every server holds a full copy; writes are stamped with a
 * Lamport clock and the writing server, and copies converge by keeping the newest stamp per key.
 * Enough for an API that answers the same through any server and survives losing one.
 */
export type KubeObject = Record<string, unknown> & {
  apiVersion?: string;
  kind?: string;
  metadata?: Record<string, unknown> & { name?: string; namespace?: string };
};

export interface StoreEntry {
  key: string;
  object?: KubeObject;
  /** Lamport clock of the write. */
  version: number;
  /** The server that made the write: breaks ties between equal clocks. */
  origin: string;
  deleted: boolean;
}

export class ObjectStore {
  private readonly entries = new Map<string, StoreEntry>();
  private clock = 0;
  private readonly listeners = new Set<(entries: StoreEntry[]) => void>();
  private readonly changeListeners = new Set<(entry: StoreEntry) => void>();

  constructor(readonly origin: string) {}

  get(key: string): KubeObject | undefined {
    const entry = this.entries.get(key);
    return entry && !entry.deleted ? entry.object : undefined;
  }

  list(prefix: string): KubeObject[] {
    const found: KubeObject[] = [];
    for (const [key, entry] of [...this.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (key.startsWith(prefix) && !entry.deleted && entry.object) found.push(entry.object);
    }
    return found;
  }

  /** Writes locally, stamping resourceVersion; returns the stored object. */
  put(key: string, object: KubeObject): KubeObject {
    const version = ++this.clock;
    const stored: KubeObject = {
      ...object,
      metadata: { ...(object.metadata ?? {}), resourceVersion: String(version) },
    };
    this.commit({ key, object: stored, version, origin: this.origin, deleted: false });
    return stored;
  }

  delete(key: string): boolean {
    if (this.get(key) === undefined) return false;
    this.commit({ key, version: ++this.clock, origin: this.origin, deleted: true });
    return true;
  }

  /** Entries from another server: kept where newer than ours. Returns how many changed ours. */
  merge(incoming: StoreEntry[]): number {
    let changed = 0;
    for (const entry of incoming) {
      this.clock = Math.max(this.clock, entry.version);
      const current = this.entries.get(entry.key);
      if (current && !newer(entry, current)) continue;
      this.entries.set(entry.key, entry);
      changed++;
      for (const listener of this.changeListeners) listener(entry);
    }
    return changed;
  }

  /** The clock now: what a list's resourceVersion says, and where a watch from it starts. */
  currentVersion(): number {
    return this.clock;
  }

  /** Called with every change, local or merged from a peer, in the order this copy applies them (watches). */
  onChange(listener: (entry: StoreEntry) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  snapshot(): StoreEntry[] {
    return [...this.entries.values()];
  }

  /** Called with every local write, so the server can push it to its peers. */
  onWrite(listener: (entries: StoreEntry[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private commit(entry: StoreEntry): void {
    this.entries.set(entry.key, entry);
    for (const listener of this.changeListeners) listener(entry);
    for (const listener of this.listeners) listener([entry]);
  }
}

function newer(a: StoreEntry, b: StoreEntry): boolean {
  return a.version > b.version || (a.version === b.version && a.origin > b.origin);
}
