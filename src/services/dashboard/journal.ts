import type { AirstrapEvent } from "../../events.js";

/**
 * The events a browser may still need, numbered: an SSE id is `<epoch>.<sequence>`, so a browser
 * reconnecting with Last-Event-ID gets only what it missed, and one reconnecting to a restarted
 * server (another epoch) is told to start over instead of getting rows twice.
 */
export interface JournalEntry {
  id: string;
  event: AirstrapEvent;
}

export type Resume =
  /** Everything after the browser's last id (possibly nothing). */
  | { kind: "continue"; entries: JournalEntry[] }
  /** The browser's rows are from another server or too old: clear them, here is all there is. */
  | { kind: "restart"; entries: JournalEntry[] };

export class Journal {
  private readonly entries: JournalEntry[] = [];
  private sequence = 0;

  constructor(
    private readonly epoch: string,
    private readonly capacity: number,
  ) {}

  append(event: AirstrapEvent): JournalEntry {
    this.sequence += 1;
    const entry = { id: `${this.epoch}.${this.sequence}`, event };
    this.entries.push(entry);
    if (this.entries.length > this.capacity) this.entries.shift();
    return entry;
  }

  /** What a browser that last saw `lastId` (undefined: a first visit) gets before the live stream. */
  resume(lastId: string | undefined): Resume {
    if (lastId === undefined || lastId === "") return { kind: "continue", entries: [...this.entries] };
    const [epoch, sequenceText] = lastId.split(".");
    const seen = Number(sequenceText);
    const oldest = this.entries[0] === undefined ? this.sequence + 1 : this.sequence - this.entries.length + 1;
    if (epoch !== this.epoch || !Number.isInteger(seen) || seen > this.sequence || seen < oldest - 1)
      return { kind: "restart", entries: [...this.entries] };
    return { kind: "continue", entries: this.entries.slice(this.entries.length - (this.sequence - seen)) };
  }
}
