import { redact, redactValue } from "./secrets.js";

/**
 * Everything that happens is an event; views (terminal, plain lines, JSON lines, status page)
 * subscribe. Code below the CLI never prints: it emits.
 */
export type EventLevel = "debug" | "info" | "warn" | "error";

export interface AirstrapEvent {
  time: string;
  level: EventLevel;
  /** What kind of thing happened, dotted: "dns.reload", "lb.backend.down", "install.phase.start". */
  kind: string;
  message: string;
  host?: string;
  phase?: string;
  service?: string;
  detail?: Record<string, unknown>;
}

export type EventInput = Omit<AirstrapEvent, "time">;
export type EventListener = (event: AirstrapEvent) => void;

export interface Events {
  emit(event: EventInput): void;
  subscribe(listener: EventListener): () => void;
}

export function createEvents(): Events {
  const listeners = new Set<EventListener>();
  // Formatting a date costs more than the rest of an event; a burst of them shares one millisecond.
  let lastMs = Number.NaN;
  let lastTime = "";
  const timeNow = () => {
    const now = Date.now();
    if (now !== lastMs) {
      lastMs = now;
      lastTime = new Date(now).toISOString();
    }
    return lastTime;
  };
  return {
    emit(input) {
      if (listeners.size === 0) return;
      // Every view, log and JSON line gets the event from here: secrets go before anything escapes them.
      // One copy of the input (a service emits one event per request): the redacted fields are
      // written over it in place, which keeps their order.
      const event: AirstrapEvent = { time: timeNow(), ...input };
      event.message = redact(input.message);
      if (input.detail !== undefined) event.detail = redactValue(input.detail);
      for (const listener of listeners) listener(event);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** For tests and for callers that do not care. */
export const silentEvents: Events = { emit() {}, subscribe: () => () => {} };
