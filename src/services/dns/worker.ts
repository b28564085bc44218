import type { Socket as UdpSocket } from "node:dgram";
import dns from "node:dns";
import { isIP } from "node:net";
import { OperatorError } from "../../errors.js";
import { createEvents } from "../../events.js";
import type { DnsConfig } from "./config.js";
import { type Delegate, type DnsState, QueryHandler } from "./handler.js";
import { DnsMetrics } from "./metrics.js";
import { reportUdpErrors, serveUdp } from "./server.js";
import { buildState } from "./state.js";
import type { FromWorker, ToWorker } from "./worker-messages.js";

/**
 * A worker process (`airstrap dns-worker`): it is handed the primary's bound UDP sockets and
 * answers on them from the precomputed table and our own data; every other query goes to the
 * primary (forwarding, cache, loops). The kernel spreads datagrams over every process reading a
 * socket. The worker lives exactly as long as its IPC channel to the primary.
 */

/** Delegated queries waiting for the primary; beyond this a worker drops new ones (the primary is overloaded). */
const MAX_DELEGATED = 10_000;
const COUNTERS_INTERVAL_MS = 2_000;

interface Asked {
  resolve: (response: Buffer | undefined) => void;
  key: string;
  state: DnsState;
}

export async function runDnsWorker(): Promise<void> {
  const send = process.send?.bind(process);
  if (send === undefined || !process.connected) {
    throw new OperatorError("airstrap dns-worker is started by the DNS server itself", {
      hint: "run airstrap dns --workers N",
    });
  }
  const post = (message: FromWorker) => {
    if (process.connected) send(message);
  };
  passLiteralsStraightThrough();
  const events = createEvents();
  events.subscribe(({ time: _time, ...event }) => post({ op: "event", event }));
  const metrics = new DnsMetrics();
  const onUdpError = reportUdpErrors(metrics, events);
  const sockets = new Map<string, UdpSocket>();
  const asked = new Map<number, Asked>();
  let nextId = 0;
  let handler: QueryHandler | undefined;
  let config: DnsConfig | undefined;

  const delegate: Delegate = (message, local, listenerKey, remote, key) => {
    if (asked.size >= MAX_DELEGATED) {
      metrics.dropped += 1;
      return Promise.resolve(undefined);
    }
    const id = nextId++;
    return new Promise((resolve) => {
      asked.set(id, { resolve, key, state: handler!.state });
      post({ op: "ask", id, message, local, listenerKey, remote });
    });
  };

  const onMessage = (message: ToWorker, socket: unknown) => {
    switch (message.op) {
      case "configure": {
        try {
          const state = buildState(message.config, message.serial, metrics, events, handler?.state, config);
          if (handler === undefined) handler = new QueryHandler(state, metrics, events, message.instanceId, delegate);
          else handler.state = state;
          config = message.config;
          post({ op: "done", seq: message.seq });
        } catch (error) {
          post({ op: "done", seq: message.seq, error: (error as Error).message });
        }
        return;
      }
      case "listen": {
        const udp = socket as UdpSocket;
        if (handler === undefined || udp === undefined) {
          post({ op: "done", seq: message.seq, error: "listen before configure, or no socket" });
          return;
        }
        const serving = handler;
        sockets.set(message.listenerKey, udp);
        serveUdp(
          udp,
          message.listenerKey,
          (query, local, key, remote, transport) => serving.handle(query, local, key, remote, transport),
          onUdpError,
        );
        post({ op: "done", seq: message.seq });
        return;
      }
      case "unlisten": {
        const udp = sockets.get(message.listenerKey);
        sockets.delete(message.listenerKey);
        if (udp === undefined) post({ op: "done", seq: message.seq });
        else udp.close(() => post({ op: "done", seq: message.seq }));
        return;
      }
      case "snapshot":
        post({ op: "done", seq: message.seq, snapshot: metrics.snapshot() });
        return;
      case "answer": {
        const waiting = asked.get(message.id);
        if (waiting === undefined) return;
        asked.delete(message.id);
        if (message.remember !== undefined) handler?.adopt(waiting.key, message.remember, waiting.state);
        waiting.resolve(message.response);
        return;
      }
    }
  };
  process.on("message", onMessage);
  const timer = setInterval(() => post({ op: "counters", snapshot: metrics.snapshot() }), COUNTERS_INTERVAL_MS);
  timer.unref();
  // Ctrl-C and a service stop reach the whole process group; the worker ends when the primary lets go of it.
  const ignore = () => {};
  process.on("SIGINT", ignore).on("SIGTERM", ignore);

  await new Promise<void>((resolve) => process.once("disconnect", () => resolve()));
  clearInterval(timer);
  process.off("message", onMessage).off("SIGINT", ignore).off("SIGTERM", ignore);
  for (const waiting of asked.values()) waiting.resolve(undefined);
  await Promise.all([...sockets.values()].map((udp) => new Promise<void>((resolve) => udp.close(() => resolve()))));
}

/**
 * The sockets arrive over IPC, made by Node with the default `lookup` (dns.lookup), which defers
 * every reply by a tick even for an IP literal — about 1.3 µs per query, measured. A worker never
 * resolves names, and this wrapper still hands anything but a literal to the real lookup.
 */
function passLiteralsStraightThrough(): void {
  const original = dns.lookup;
  const lookup = (hostname: string, options: unknown, callback: unknown) => {
    const family = isIP(hostname);
    if (family !== 0 && typeof options === "number" && typeof callback === "function") {
      (callback as (error: null, address: string, family: number) => void)(null, hostname, family);
      return {};
    }
    return Reflect.apply(original, dns, [hostname, options, callback]);
  };
  dns.lookup = lookup as typeof dns.lookup;
}
