import type { EventInput } from "../../events.js";
import type { EncodedResponse } from "./answer-table.js";
import type { DnsConfig } from "./config.js";
import type { CounterSnapshot } from "./metrics.js";

/**
 * What the primary and its worker processes say to each other over the IPC channel (advanced
 * serialization, so Buffers cross as Buffers). Requests carry a sequence number; the worker
 * answers each with "done".
 */

/** The hidden verb that runs a worker: `airstrap dns-worker`, started only by the primary. */
export const WORKER_VERB = "dns-worker";

export type ToWorker =
  | { op: "configure"; seq: number; config: DnsConfig; serial: number; instanceId: number }
  /** Sent with the listener's bound UDP socket as the handle. */
  | { op: "listen"; seq: number; listenerKey: string }
  | { op: "unlisten"; seq: number; listenerKey: string }
  | { op: "snapshot"; seq: number }
  | { op: "answer"; id: number; response: Buffer | undefined; remember: EncodedResponse | undefined };

export type WorkerRequest = ToWorker extends infer M ? (M extends { seq: number } ? Omit<M, "seq"> : never) : never;

export type FromWorker =
  | { op: "done"; seq: number; snapshot?: CounterSnapshot; error?: string }
  /** Sent every few seconds, so the counters of a worker that dies are mostly kept. */
  | { op: "counters"; snapshot: CounterSnapshot }
  /** A query the worker hands to the primary (see Delegate in handler.ts). */
  | { op: "ask"; id: number; message: Buffer; local: string; listenerKey: string; remote: string }
  | { op: "event"; event: EventInput };
