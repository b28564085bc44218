import type { UpstreamAnswer } from "./upstream-message.js";

/** Answers from upstreams, kept for their TTL (negative answers too, RFC 2308). Bounded; oldest entries go first. */

export interface CachedAnswer {
  answer: UpstreamAnswer;
  storedAt: number;
  expiresAt: number;
}

export class AnswerCache {
  private readonly entries = new Map<string, CachedAnswer>();

  constructor(private readonly capacity: number) {}

  static key(name: string, type: number): string {
    return `${type}/${name}`;
  }

  /** The entry and its age in whole seconds, or undefined when absent or expired. */
  get(key: string, now: number): { answer: UpstreamAnswer; age: number; expiresAt: number } | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return { answer: entry.answer, age: Math.floor((now - entry.storedAt) / 1000), expiresAt: entry.expiresAt };
  }

  set(key: string, answer: UpstreamAnswer, now: number): void {
    if (answer.cacheTtl <= 0 || this.capacity <= 0) return;
    this.entries.delete(key);
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { answer, storedAt: now, expiresAt: now + answer.cacheTtl * 1000 });
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}
