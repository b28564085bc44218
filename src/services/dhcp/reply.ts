import type { AnswerTable } from "./answer-table.js";
import type { ClientKind } from "./client-kind.js";
import type { DhcpReservation } from "./config.js";
import { BOOTREPLY, BROADCAST_FLAG, type DhcpMessage, encodeMessage, MessageType, Option, textOption } from "./wire.js";

/** The bytes of a reply: which options, from the compiled table, in which fields. */

const ZERO = "0.0.0.0";

export interface ReplyParts {
  yiaddr: string;
  client: ClientKind;
  /** Lease time, T1, T2 and the network's options (full mode DISCOVER/REQUEST). */
  lease: boolean;
  reservation?: DhcpReservation;
  bootFile?: string;
  nak?: boolean;
}

/** The reference encoder: every reply built option by option (reply-templates.ts reuses its output). */
export function encodeReplyFresh(table: AnswerTable, request: DhcpMessage, type: number, parts: ReplyParts): Buffer {
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
      const dns = (parts.reservation && bytes.reservedDns.get(parts.reservation.mac)) ?? bytes.dns;
      if (dns !== undefined) options.push([Option.DNS_SERVERS, dns]);
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
    flags: replyFlags(request, parts),
    htype: request.htype,
    hlen: request.hlen,
    ciaddr: replyCiaddr(request, type, parts),
    yiaddr: parts.yiaddr,
    siaddr: parts.nak || parts.bootFile === undefined ? ZERO : config.boot.tftpServer,
    giaddr: request.giaddr,
    chaddr: request.chaddr,
    file: parts.nak ? "" : (parts.bootFile ?? ""),
    options,
  });
}

/** A relayed NAK gets the broadcast bit (RFC 2131 §4.3.2); otherwise the client's flags. */
export const replyFlags = (request: DhcpMessage, parts: ReplyParts) =>
  parts.nak && request.giaddr !== ZERO ? request.flags | BROADCAST_FLAG : request.flags;

/** Only an ACK without a lease (INFORM, port 4011) echoes the client's address. */
export const replyCiaddr = (request: DhcpMessage, type: number, parts: ReplyParts) =>
  type === MessageType.ACK && !parts.lease ? request.ciaddr : ZERO;

const MESSAGE_TYPE_BYTES = Array.from({ length: 9 }, (_, type) => Buffer.from([type]));
const VENDOR_CLASS_BYTES = { PXEClient: textOption("PXEClient"), HTTPClient: textOption("HTTPClient") };
const DISCOVERY_CONTROL = Buffer.from([6, 1, 8, 255]);
const NAK_TEXT = textOption("requested address is not this machine's");

export const wants = (request: DhcpMessage, code: number) =>
  request.options.get(Option.PARAMETER_REQUEST_LIST)?.includes(code) ?? false;
