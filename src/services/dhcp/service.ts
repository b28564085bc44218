import type { EventInput, Events } from "../../events.js";
import type { RunningService } from "../service.js";
import { type Arrival, answer, type Decision } from "./answer.js";
import { type AnswerTable, compileAnswerTable } from "./answer-table.js";
import type { DhcpConfig } from "./config.js";
import { LeaseBook, OFFER_HOLD_MS } from "./lease-book.js";
import { DhcpMetrics } from "./metrics.js";
import { type DhcpSockets, openDhcpSockets } from "./server.js";
import { decodeMessage, MalformedMessage } from "./wire.js";

/**
 * The DHCP server for PXE boot: proxyDHCP beside the site's DHCP server, or full DHCP handing out
 * reserved addresses. Only machines in the configuration are ever answered; every other MAC is
 * reported once and then ignored.
 */
export interface RunningDhcp extends RunningService<DhcpConfig> {
  /** MACs that asked and were not answered because they are unknown, in the order first seen. */
  readonly unknownMacs: string[];
}

/** Unknown MACs remembered for the once-per-MAC report; past this many, one last notice and silence. */
const MAX_REMEMBERED_UNKNOWN = 4096;

export async function startDhcp(config: DhcpConfig, events: Events): Promise<RunningDhcp> {
  const metrics = new DhcpMetrics();
  const unknown = new Set<string>();
  let table = compileAnswerTable(config);
  let leases = leaseBookFor(config);
  let closed = false;

  const handle = (datagram: Buffer, arrival: Arrival, from: { address: string; port: number }) => {
    metrics.countReceived(arrival);
    let decision: Decision;
    try {
      decision = answer(table, decodeMessage(datagram), arrival, from, leases?.view(Date.now()));
    } catch (error) {
      if (!(error instanceof MalformedMessage)) report(error);
      metrics.malformed += 1;
      return;
    }
    act(decision, table, arrival);
  };

  // A reply leaves from the socket its request came in on: 4011 answers from 4011.
  const act = (decision: Decision, current: AnswerTable, arrival: Arrival) => {
    if (decision.kind === "ignore") {
      metrics.countIgnored(decision.reason);
      if (decision.reason === "unknown-mac" && decision.mac !== undefined) noteUnknown(decision.mac);
      return;
    }
    if (decision.kind === "notice") {
      metrics.countNotice(decision.what);
      if (decision.what === "release") leases?.release(decision.mac);
      else leases?.decline(decision.mac, decision.address, Date.now(), current.config.leaseSeconds * 1000);
      const hostname = current.reservations.get(decision.mac)?.hostname;
      events.emit({
        level: decision.what === "decline" ? "warn" : "info",
        kind: `dhcp.${decision.what}`,
        service: "dhcp",
        ...(hostname === undefined ? {} : { host: hostname }),
        message:
          decision.what === "decline"
            ? `${decision.mac} declined ${decision.address}: another machine may be using that address`
            : `${decision.mac} released ${decision.address}`,
        detail: { mac: decision.mac, address: decision.address },
      });
      return;
    }
    sockets.send(decision.reply, arrival, decision.to);
    if (decision.lease !== undefined) {
      const holdMs = decision.lease.acknowledged ? current.config.leaseSeconds * 1000 : OFFER_HOLD_MS;
      leases?.record(decision.mac, decision.lease.address, Date.now(), holdMs);
    }
    metrics.countReply(decision.step);
    later(decision);
  };

  // The events of a burst of requests are emitted after the burst's replies have gone out (one
  // turn of the event loop later, in order), so no reply waits for the events of those before it.
  let pending: (ReplyDecision | UnknownMac)[] = [];
  const later = (what: ReplyDecision | UnknownMac) => {
    if (pending.push(what) === 1) setImmediate(emitPending);
  };
  const emitPending = () => {
    const batch = pending;
    pending = [];
    for (const what of batch) events.emit(what.kind === "reply" ? replyEvent(what) : unknownMacEvent(what));
  };

  const noteUnknown = (mac: string) => {
    if (unknown.has(mac) || unknown.size > MAX_REMEMBERED_UNKNOWN) return;
    unknown.add(mac);
    metrics.unknownMacs = unknown.size;
    later({ kind: "unknown", mac, last: unknown.size > MAX_REMEMBERED_UNKNOWN });
  };

  const report = (error: unknown) =>
    events.emit({
      level: "error",
      kind: "dhcp.error",
      service: "dhcp",
      message: `DHCP could not answer a request: ${(error as Error).message}`,
    });

  const sendFailed = (error: Error) => {
    metrics.sendErrors += 1;
    events.emit({
      level: "warn",
      kind: "dhcp.send-error",
      service: "dhcp",
      message: `a DHCP reply could not be sent: ${error.message}`,
    });
  };
  let sockets: DhcpSockets = await openDhcpSockets(config, handle, sendFailed);
  let current = config;
  events.emit({
    level: "info",
    kind: "dhcp.start",
    service: "dhcp",
    message: `DHCP (${config.mode} mode) for ${table.known.size} machines listening on ${sockets.addresses.join(", ")}`,
    detail: { mode: config.mode, known: table.known.size },
  });

  return {
    get addresses() {
      return sockets.addresses;
    },
    get unknownMacs() {
      return [...unknown];
    },
    ready: Promise.resolve(),
    async reload(next) {
      const nextTable = compileAnswerTable(next);
      const rebind =
        next.serverAddress !== current.serverAddress || JSON.stringify(next.ports) !== JSON.stringify(current.ports);
      if (rebind) {
        // The DHCP port cannot be held twice (the exclusive probe), so the old sockets go first;
        // if the new ones cannot bind, the old ones come back and the error is reported.
        await sockets.close();
        try {
          sockets = await openDhcpSockets(next, handle, sendFailed);
        } catch (error) {
          sockets = await openDhcpSockets(current, handle, sendFailed);
          throw error;
        }
      }
      table = nextTable;
      // Pool leases are kept while the pool stays the same.
      if (JSON.stringify(next.pool) !== JSON.stringify(current.pool)) leases = leaseBookFor(next);
      current = next;
      metrics.reloads += 1;
      events.emit({
        level: "info",
        kind: "dhcp.reload",
        service: "dhcp",
        message: `DHCP configuration reloaded (${next.mode} mode, ${nextTable.known.size} machines)`,
      });
    },
    metrics: () => metrics.render(),
    async close() {
      if (closed) return;
      closed = true;
      await sockets.close();
      emitPending();
      events.emit({ level: "info", kind: "dhcp.stop", service: "dhcp", message: "DHCP stopped" });
    },
  };
}

function leaseBookFor(config: DhcpConfig): LeaseBook | undefined {
  if (config.pool === undefined) return undefined;
  return new LeaseBook(config.pool, new Set([config.serverAddress, ...config.reservations.map((r) => r.address)]));
}

type ReplyDecision = Extract<Decision, { kind: "reply" }>;
interface UnknownMac {
  kind: "unknown";
  mac: string;
  /** The one past the limit: reported as the end of the reports. */
  last: boolean;
}

function unknownMacEvent({ mac, last }: UnknownMac): EventInput {
  return {
    level: "warn",
    kind: "dhcp.unknown-mac",
    service: "dhcp",
    message: last
      ? `more than ${MAX_REMEMBERED_UNKNOWN} unknown MACs asked; no further ones are reported`
      : `${mac} asked for DHCP and is not in the configuration: not answered`,
    detail: { mac },
  };
}

function replyEvent(decision: ReplyDecision): EventInput {
  const { detail } = decision;
  return {
    level: decision.step === "nak" ? "warn" : "info",
    kind: `dhcp.${decision.step}`,
    service: "dhcp",
    ...(detail.hostname === undefined ? {} : { host: detail.hostname }),
    message: describeReply(decision),
    detail: { mac: decision.mac, ...detail },
  };
}

function describeReply(decision: ReplyDecision): string {
  const { detail, mac, step } = decision;
  const who = detail.hostname === undefined ? mac : `${mac} (${detail.hostname})`;
  const boot =
    detail.bootFile === undefined ? "" : `, boot ${detail.bootFile}${detail.boot ? ` (${detail.boot})` : ""}`;
  switch (step) {
    case "offer":
      return `offered ${detail.address} to ${who}${boot}`;
    case "ack":
      return `acknowledged ${detail.address} for ${who}${boot}`;
    case "nak":
      return `refused ${detail.address} to ${who}: not its reserved address`;
    case "inform-ack":
      return `sent configuration to ${who} at ${detail.address}`;
    case "proxy-offer":
      return `proxy offer to ${who}${boot}`;
    case "pxe-ack":
      return `boot server (4011) answer to ${who}${boot}`;
  }
}
