import type { AnswerTable } from "./answer-table.js";
import { encodeReplyFresh, type ReplyParts, replyCiaddr, replyFlags, wants } from "./reply.js";
import { type DhcpMessage, Option, writeAddress } from "./wire.js";

/**
 * Replies from templates: the bytes of a reply depend on the client's request only through its
 * header fields (xid, flags, ciaddr, giaddr, chaddr) and the value of option 97 (the client UUID,
 * echoed). Everything else is fixed by the answer (message type, address, host, boot file, which
 * options the client asked for). So the first reply of each kind is encoded in full and kept in
 * the table; every later one is a copy with those fields written over it — byte for byte what the
 * full encoder gives (test/services/dhcp/reply-templates.test.ts compares them).
 */

/** Templates kept per table: a few per known machine; past this many, replies are encoded in full. */
export const MAX_TEMPLATES = 8192;

const XID_AT = 4;
const FLAGS_AT = 10;
const CIADDR_AT = 12;
const GIADDR_AT = 24;
const CHADDR = { start: 28, length: 16 };

export function encodeReply(table: AnswerTable, request: DhcpMessage, type: number, parts: ReplyParts): Buffer {
  const uuid = request.options.get(Option.CLIENT_UUID);
  // A value over 255 bytes is split into several options (RFC 3396): not worth a template.
  if (uuid !== undefined && uuid.length > 255) return encodeReplyFresh(table, request, type, parts);
  const key = templateKey(request, type, parts, uuid);
  const template = table.templates.get(key);
  if (template === undefined) {
    const fresh = encodeReplyFresh(table, request, type, parts);
    if (table.templates.size < MAX_TEMPLATES)
      table.templates.set(key, {
        bytes: fresh,
        uuidAt: uuid === undefined ? -1 : optionValueAt(fresh, Option.CLIENT_UUID),
      });
    return fresh;
  }
  const out = Buffer.allocUnsafe(template.bytes.length);
  template.bytes.copy(out);
  out.writeUInt32BE(request.xid >>> 0, XID_AT);
  out.writeUInt16BE(replyFlags(request, parts), FLAGS_AT);
  writeAddress(out, CIADDR_AT, replyCiaddr(request, type, parts));
  writeAddress(out, GIADDR_AT, request.giaddr);
  const chaddr = Math.min(CHADDR.length, request.chaddr.length);
  request.chaddr.copy(out, CHADDR.start, 0, chaddr);
  if (chaddr < CHADDR.length) out.fill(0, CHADDR.start + chaddr, CHADDR.start + CHADDR.length);
  if (uuid !== undefined && template.uuidAt >= 0) uuid.copy(out, template.uuidAt);
  return out;
}

/** Everything of the request and the answer that shapes a reply's bytes, apart from what is patched. */
function templateKey(request: DhcpMessage, type: number, parts: ReplyParts, uuid: Buffer | undefined): string {
  const { client } = parts;
  const flags =
    (parts.lease ? 1 : 0) |
    (parts.nak ? 2 : 0) |
    (wants(request, Option.BOOTFILE_NAME) ? 4 : 0) |
    (wants(request, Option.TFTP_SERVER_NAME) ? 8 : 0);
  return `${type}|${flags}|${parts.yiaddr}|${parts.reservation?.mac ?? ""}|${client.vendorClass ?? ""}|${client.boot ?? ""}|${parts.bootFile ?? ""}|${request.htype}|${request.hlen}|${uuid?.length ?? -1}`;
}

/** Offset of an option's value in an encoded message (options area only, as the encoder writes it). */
function optionValueAt(message: Buffer, code: number): number {
  let at = 240;
  while (at < message.length && message[at] !== Option.END) {
    if (message[at] === code) return at + 2;
    at += message[at] === Option.PAD ? 1 : 2 + message[at + 1]!;
  }
  return -1;
}
