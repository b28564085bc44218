import { type DhcpConfig, type DhcpReservation, ipv4Number, ipv4Text, knownMacsOf } from "./config.js";
import { addressesOption, textOption, u32Option } from "./wire.js";

/** A reply encoded in full once, copied and patched for later requests (reply-templates.ts). */
export interface ReplyTemplate {
  bytes: Buffer;
  /** Where option 97's value starts in `bytes`, or -1 when the reply has none. */
  uuidAt: number;
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
    /** DNS servers (option 6) of the reservations that have their own, by MAC. */
    reservedDns: Map<string, Buffer>;
    /** Option 67 of each boot file, by file. */
    bootFiles: Map<string, Buffer>;
  };
  /** Replies encoded so far, by what shapes them (reply-templates.ts); filled as requests come. */
  templates: Map<string, ReplyTemplate>;
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
      reservedDns: new Map(
        config.reservations.flatMap((r) =>
          r.dnsServers && r.dnsServers.length > 0 ? [[r.mac, addressesOption(r.dnsServers)] as const] : [],
        ),
      ),
      bootFiles: new Map(
        Object.values(config.boot)
          .filter((file): file is string => typeof file === "string")
          .map((file) => [file, textOption(file)]),
      ),
    },
    templates: new Map(),
  };
}

/** The address is on the PXE network this server is on. */
export const onNetwork = (table: AnswerTable, address: string) =>
  (ipv4Number(address) & table.mask) >>> 0 === table.network;
