import { type AnswerTable, onNetwork } from "./answer-table.js";
import { bootFileFor, type ClientKind, clientKindOf } from "./client-kind.js";
import type { LeaseView } from "./lease-book.js";
import { encodeReply } from "./reply-templates.js";
import { BOOTREQUEST, type DhcpMessage, MessageType, macOf, Option } from "./wire.js";

/**
 * The pure decision of what to send for one request (RFC 2131 §4.3, PXE 2.1 proxyDHCP): which
 * message, with which options, to which address and port. The server only moves bytes.
 */

/** Where the request arrived: the DHCP port (67) or the PXE boot server port (4011). */
export type Arrival = "dhcp" | "pxe";

export type Step = "offer" | "ack" | "nak" | "inform-ack" | "proxy-offer" | "pxe-ack";

export type IgnoreReason =
  | "not-a-request"
  | "no-message-type"
  | "unknown-mac"
  | "not-booting"
  | "no-reservation"
  | "no-boot-file"
  | "other-server"
  | "pool-exhausted"
  | "not-for-proxy";

export type Decision =
  | {
      kind: "reply";
      /** A pool address offered or acknowledged: the caller records it in its lease book. */
      lease?: { address: string; acknowledged: boolean };
      step: Step;
      mac: string;
      reply: Buffer;
      to: { address: string; port: number };
      detail: ReplyDetail;
    }
  | { kind: "notice"; what: "release" | "decline"; mac: string; address: string }
  | { kind: "ignore"; reason: IgnoreReason; mac?: string };

export interface ReplyDetail {
  address?: string;
  hostname?: string;
  bootFile?: string;
  boot?: string;
  arch?: number;
}

const ZERO = "0.0.0.0";
const LIMITED_BROADCAST = "255.255.255.255";

export function answer(
  table: AnswerTable,
  message: DhcpMessage,
  arrival: Arrival,
  from: { address: string; port: number },
  leases?: LeaseView,
): Decision {
  if (message.op !== BOOTREQUEST) return { kind: "ignore", reason: "not-a-request" };
  const type = message.options.get(Option.MESSAGE_TYPE)?.[0];
  if (type === undefined) return { kind: "ignore", reason: "no-message-type" };
  const mac = macOf(message);
  if (message.htype !== 1 || message.hlen !== 6 || !table.known.has(mac))
    return { kind: "ignore", reason: "unknown-mac", mac };
  const client = clientKindOf(message);
  if (arrival === "pxe") return answerBootServer(table, message, type, client, mac, from);
  return table.config.mode === "proxy"
    ? answerProxy(table, message, type, client, mac)
    : answerFull(table, message, type, client, mac, leases);
}

/** Port 4011 (PXE 2.1 §2.2.5): a REQUEST or INFORM asking for the boot file, answered to its source. */
function answerBootServer(
  table: AnswerTable,
  message: DhcpMessage,
  type: number,
  client: ClientKind,
  mac: string,
  from: { address: string; port: number },
): Decision {
  if (type !== MessageType.REQUEST && type !== MessageType.INFORM)
    return { kind: "ignore", reason: "not-for-proxy", mac };
  if (!client.booting) return { kind: "ignore", reason: "not-booting", mac };
  const bootFile = bootFileFor(client.boot, table.config.boot);
  if (bootFile === undefined) return { kind: "ignore", reason: "no-boot-file", mac };
  const reply = encodeReply(table, message, MessageType.ACK, { yiaddr: ZERO, bootFile, client, lease: false });
  return { kind: "reply", step: "pxe-ack", mac, reply, to: from, detail: bootDetail(client, bootFile) };
}

/** Port 67 beside another DHCP server: only a booting client's DISCOVER, answered with boot information. */
function answerProxy(
  table: AnswerTable,
  message: DhcpMessage,
  type: number,
  client: ClientKind,
  mac: string,
): Decision {
  if (type !== MessageType.DISCOVER) return { kind: "ignore", reason: "not-for-proxy", mac };
  if (!client.booting) return { kind: "ignore", reason: "not-booting", mac };
  const bootFile = bootFileFor(client.boot, table.config.boot);
  if (bootFile === undefined) return { kind: "ignore", reason: "no-boot-file", mac };
  const reply = encodeReply(table, message, MessageType.OFFER, { yiaddr: ZERO, bootFile, client, lease: false });
  return {
    kind: "reply",
    step: "proxy-offer",
    mac,
    reply,
    to: destination(table, message, false),
    detail: bootDetail(client, bootFile),
  };
}

function answerFull(
  table: AnswerTable,
  message: DhcpMessage,
  type: number,
  client: ClientKind,
  mac: string,
  leases: LeaseView | undefined,
): Decision {
  const reservation = table.reservations.get(mac);
  // Without a reservation only an explicitly configured pool gives an address.
  const pool = reservation === undefined ? leases : undefined;
  if (reservation === undefined && pool === undefined) return { kind: "ignore", reason: "no-reservation", mac };
  const serverId = addressOption(message, Option.SERVER_ID);
  const ours = serverId === undefined || serverId === table.config.serverAddress;
  const bootFile = bootFileFor(client.boot, table.config.boot);
  const hostname = reservation === undefined ? {} : { hostname: reservation.hostname };
  const lease = (step: Step, messageType: number, address: string): Decision => {
    const reply = encodeReply(table, message, messageType, {
      yiaddr: address,
      client,
      lease: true,
      ...(reservation === undefined ? {} : { reservation }),
      ...(bootFile === undefined ? {} : { bootFile }),
    });
    return {
      kind: "reply",
      step,
      mac,
      reply,
      to: destination(table, message, false),
      detail: Object.assign(bootDetail(client, bootFile), { address }, hostname),
      ...(pool === undefined ? {} : { lease: { address, acknowledged: step === "ack" } }),
    };
  };
  switch (type) {
    case MessageType.DISCOVER: {
      const address = reservation?.address ?? pool?.addressFor(mac);
      if (address === undefined) return { kind: "ignore", reason: "pool-exhausted", mac };
      return lease("offer", MessageType.OFFER, address);
    }
    case MessageType.REQUEST: {
      // §4.3.2: a REQUEST naming another server tells us our offer was declined: stay silent.
      if (!ours) return { kind: "ignore", reason: "other-server", mac };
      const requested =
        addressOption(message, Option.REQUESTED_ADDRESS) ?? (message.ciaddr !== ZERO ? message.ciaddr : undefined);
      const allowed =
        requested !== undefined &&
        (reservation !== undefined ? requested === reservation.address : pool?.mayHold(mac, requested) === true);
      if (allowed) return lease("ack", MessageType.ACK, requested);
      const reply = encodeReply(table, message, MessageType.NAK, { yiaddr: ZERO, client, lease: false, nak: true });
      return {
        kind: "reply",
        step: "nak",
        mac,
        reply,
        to: destination(table, message, true),
        detail: { address: requested ?? ZERO, ...hostname },
      };
    }
    case MessageType.INFORM: {
      // §4.3.5: configuration only, no lease, sent straight to the address the client already has.
      const reply = encodeReply(table, message, MessageType.ACK, { yiaddr: ZERO, client, lease: false });
      const to = destination(table, message, false);
      return { kind: "reply", step: "inform-ack", mac, reply, to, detail: { address: message.ciaddr } };
    }
    case MessageType.RELEASE:
    case MessageType.DECLINE:
      if (!ours) return { kind: "ignore", reason: "other-server", mac };
      return {
        kind: "notice",
        what: type === MessageType.RELEASE ? "release" : "decline",
        mac,
        address:
          type === MessageType.RELEASE ? message.ciaddr : (addressOption(message, Option.REQUESTED_ADDRESS) ?? ZERO),
      };
    default:
      return { kind: "ignore", reason: "not-a-request", mac };
  }
}

/**
 * RFC 2131 §4.1: to the relay when relayed; to the client's own address when it has one; else
 * broadcast. A NAK is always broadcast (the client's address is wrong). A client that asks for
 * unicast and has no address yet is broadcast to as well: Node cannot write the ARP entry that
 * unicast to an unconfigured client needs, and every client listens for broadcast replies.
 * A ciaddr outside the PXE network is not trusted as a destination (only a relay reaches other
 * networks): the reply is broadcast on ours instead.
 */
function destination(table: AnswerTable, message: DhcpMessage, nak: boolean) {
  const { ports } = table.config;
  if (message.giaddr !== ZERO) return { address: message.giaddr, port: ports.server };
  if (!nak && message.ciaddr !== ZERO && onNetwork(table, message.ciaddr))
    return { address: message.ciaddr, port: ports.client };
  return { address: LIMITED_BROADCAST, port: ports.client };
}

function addressOption(message: DhcpMessage, code: number): string | undefined {
  const value = message.options.get(code);
  if (value === undefined || value.length !== 4) return undefined;
  return `${value[0]}.${value[1]}.${value[2]}.${value[3]}`;
}

function bootDetail(client: ClientKind, bootFile: string | undefined): ReplyDetail {
  const detail: ReplyDetail = {};
  if (bootFile !== undefined) detail.bootFile = bootFile;
  if (client.boot !== undefined) detail.boot = client.boot;
  if (client.arch !== undefined) detail.arch = client.arch;
  return detail;
}
