import { bootFileFor, type ClientKind, clientKindOf } from "./client-kind.js";
import { type DhcpConfig, type DhcpReservation, ipv4Number, ipv4Text, knownMacsOf } from "./config.js";
import {
  addressesOption,
  BOOTREPLY,
  BOOTREQUEST,
  BROADCAST_FLAG,
  type DhcpMessage,
  encodeMessage,
  MessageType,
  macOf,
  Option,
  textOption,
  u32Option,
} from "./wire.js";

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
  | "not-for-proxy";

export type Decision =
  | {
      kind: "reply";
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

/** The configuration compiled for lookups on the hot path. */
export interface AnswerTable {
  config: DhcpConfig;
  known: Set<string>;
  reservations: Map<string, DhcpReservation>;
  broadcast: string;
  network: number;
  mask: number;
  /** Option values that are the same in every reply, encoded once. */
  bytes: {
    serverId: Buffer;
    netmask: Buffer;
    broadcast: Buffer;
    router: Buffer | undefined;
    dns: Buffer | undefined;
    domain: Buffer | undefined;
    tftpServer: Buffer;
    lease: Buffer;
    renewal: Buffer;
    rebinding: Buffer;
    /** Host name (option 12) of each reservation, by MAC. */
    hostnames: Map<string, Buffer>;
    /** Option 67 of each boot file, by file. */
    bootFiles: Map<string, Buffer>;
  };
}

export function compileAnswerTable(config: DhcpConfig): AnswerTable {
  const mask = ipv4Number(config.netmask);
  const broadcast = ipv4Text((ipv4Number(config.serverAddress) | ~mask) >>> 0);
  return {
    config,
    known: knownMacsOf(config),
    reservations: new Map(config.reservations.map((r) => [r.mac, r])),
    broadcast,
    network: (ipv4Number(config.serverAddress) & mask) >>> 0,
    mask,
    bytes: {
      serverId: addressesOption([config.serverAddress]),
      netmask: addressesOption([config.netmask]),
      broadcast: addressesOption([broadcast]),
      router: config.router === undefined ? undefined : addressesOption([config.router]),
      dns: config.dnsServers.length === 0 ? undefined : addressesOption(config.dnsServers),
      domain: config.domain === undefined ? undefined : textOption(config.domain),
      tftpServer: textOption(config.boot.tftpServer),
      lease: u32Option(config.leaseSeconds),
      renewal: u32Option(Math.floor(config.leaseSeconds / 2)),
      rebinding: u32Option(Math.floor((config.leaseSeconds * 7) / 8)),
      hostnames: new Map(config.reservations.map((r) => [r.mac, textOption(r.hostname)])),
      bootFiles: new Map(
        Object.values(config.boot)
          .filter((file): file is string => typeof file === "string")
          .map((file) => [file, textOption(file)]),
      ),
    },
  };
}

const ZERO = "0.0.0.0";
const LIMITED_BROADCAST = "255.255.255.255";

export function answer(
  table: AnswerTable,
  message: DhcpMessage,
  arrival: Arrival,
  from: { address: string; port: number },
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
    : answerFull(table, message, type, client, mac);
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

function answerFull(table: AnswerTable, message: DhcpMessage, type: number, client: ClientKind, mac: string): Decision {
  const reservation = table.reservations.get(mac);
  if (reservation === undefined) return { kind: "ignore", reason: "no-reservation", mac };
  const serverId = addressOption(message, Option.SERVER_ID);
  const ours = serverId === undefined || serverId === table.config.serverAddress;
  const bootFile = bootFileFor(client.boot, table.config.boot);
  const lease = (step: Step, messageType: number): Decision => {
    const reply = encodeReply(table, message, messageType, {
      yiaddr: reservation.address,
      reservation,
      client,
      lease: true,
      ...(bootFile === undefined ? {} : { bootFile }),
    });
    return {
      kind: "reply",
      step,
      mac,
      reply,
      to: destination(table, message, false),
      detail: Object.assign(bootDetail(client, bootFile), {
        address: reservation.address,
        hostname: reservation.hostname,
      }),
    };
  };
  switch (type) {
    case MessageType.DISCOVER:
      return lease("offer", MessageType.OFFER);
    case MessageType.REQUEST: {
      // §4.3.2: a REQUEST naming another server tells us our offer was declined: stay silent.
      if (!ours) return { kind: "ignore", reason: "other-server", mac };
      const requested =
        addressOption(message, Option.REQUESTED_ADDRESS) ?? (message.ciaddr !== ZERO ? message.ciaddr : undefined);
      if (requested === reservation.address) return lease("ack", MessageType.ACK);
      const reply = encodeReply(table, message, MessageType.NAK, { yiaddr: ZERO, client, lease: false, nak: true });
      return {
        kind: "reply",
        step: "nak",
        mac,
        reply,
        to: destination(table, message, true),
        detail: { address: requested ?? ZERO, hostname: reservation.hostname },
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

interface ReplyParts {
  yiaddr: string;
  client: ClientKind;
  /** Lease time, T1, T2 and the network's options (full mode DISCOVER/REQUEST). */
  lease: boolean;
  reservation?: DhcpReservation;
  bootFile?: string;
  nak?: boolean;
}

function encodeReply(table: AnswerTable, request: DhcpMessage, type: number, parts: ReplyParts): Buffer {
  const { config, bytes } = table;
  const options: [number, Buffer][] = [
    [Option.MESSAGE_TYPE, MESSAGE_TYPE_BYTES[type]!],
    [Option.SERVER_ID, bytes.serverId],
  ];
  if (parts.nak) {
    options.push([Option.MESSAGE, NAK_TEXT]);
  } else {
    if (parts.lease) {
      options.push(
        [Option.LEASE_TIME, bytes.lease],
        [Option.RENEWAL_TIME, bytes.renewal],
        [Option.REBINDING_TIME, bytes.rebinding],
      );
    }
    if (config.mode === "full" && (parts.lease || type === MessageType.ACK)) {
      options.push([Option.SUBNET_MASK, bytes.netmask], [Option.BROADCAST_ADDRESS, bytes.broadcast]);
      if (bytes.router !== undefined) options.push([Option.ROUTER, bytes.router]);
      if (bytes.dns !== undefined) options.push([Option.DNS_SERVERS, bytes.dns]);
      if (bytes.domain !== undefined) options.push([Option.DOMAIN_NAME, bytes.domain]);
      if (parts.reservation)
        options.push([
          Option.HOSTNAME,
          bytes.hostnames.get(parts.reservation.mac) ?? textOption(parts.reservation.hostname),
        ]);
    }
    if (parts.client.vendorClass !== undefined) {
      options.push([Option.VENDOR_CLASS, VENDOR_CLASS_BYTES[parts.client.vendorClass]]);
      const uuid = request.options.get(Option.CLIENT_UUID);
      if (uuid !== undefined) options.push([Option.CLIENT_UUID, uuid]);
      // PXE discovery control 8: boot straight from the file given, no boot server menu. UEFI ROMs
      // are left without it so they confirm over 4011, which edk2 does anyway.
      if (parts.client.boot === "bios") options.push([Option.VENDOR_SPECIFIC, DISCOVERY_CONTROL]);
    }
    if (parts.bootFile !== undefined && wants(request, Option.BOOTFILE_NAME))
      options.push([Option.BOOTFILE_NAME, bytes.bootFiles.get(parts.bootFile) ?? textOption(parts.bootFile)]);
    if (parts.bootFile !== undefined && wants(request, Option.TFTP_SERVER_NAME))
      options.push([Option.TFTP_SERVER_NAME, bytes.tftpServer]);
  }
  return encodeMessage({
    op: BOOTREPLY,
    xid: request.xid,
    flags: parts.nak && request.giaddr !== ZERO ? request.flags | BROADCAST_FLAG : request.flags,
    htype: request.htype,
    hlen: request.hlen,
    ciaddr: type === MessageType.ACK && !parts.lease ? request.ciaddr : ZERO,
    yiaddr: parts.yiaddr,
    siaddr: parts.nak || parts.bootFile === undefined ? ZERO : config.boot.tftpServer,
    giaddr: request.giaddr,
    chaddr: request.chaddr,
    file: parts.nak ? "" : (parts.bootFile ?? ""),
    options,
  });
}

const onNetwork = (table: AnswerTable, address: string) => (ipv4Number(address) & table.mask) >>> 0 === table.network;

const MESSAGE_TYPE_BYTES = Array.from({ length: 9 }, (_, type) => Buffer.from([type]));
const VENDOR_CLASS_BYTES = { PXEClient: textOption("PXEClient"), HTTPClient: textOption("HTTPClient") };
const DISCOVERY_CONTROL = Buffer.from([6, 1, 8, 255]);
const NAK_TEXT = textOption("requested address is not reserved for this machine");

const wants = (request: DhcpMessage, code: number) =>
  request.options.get(Option.PARAMETER_REQUEST_LIST)?.includes(code) ?? false;

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
