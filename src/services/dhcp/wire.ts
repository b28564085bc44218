/**
 * The BOOTP/DHCP message codec (RFC 2131 §2, RFC 2132, RFC 3396): a 236-byte fixed header, the
 * magic cookie, then TLV options; option 52 (overload) lets `file` and `sname` carry options too.
 * Decoding never trusts a length: anything that points outside its field is a malformed message.
 */

export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
export const MAGIC_COOKIE = 0x63825363;
const HEADER_LENGTH = 236;
const OPTIONS_START = HEADER_LENGTH + 4;
const SNAME = { start: 44, length: 64 };
const FILE = { start: 108, length: 128 };
/** RFC 1542 §3.4: relay agents and old clients drop BOOTP messages shorter than this. */
const MINIMUM_MESSAGE = 300;
/** RFC 2131 §2: the broadcast bit of `flags`. */
export const BROADCAST_FLAG = 0x8000;

export const MessageType = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;

export const MESSAGE_TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(MessageType).map(([name, value]) => [value, name]),
);

export const Option = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS_SERVERS: 6,
  HOSTNAME: 12,
  DOMAIN_NAME: 15,
  BROADCAST_ADDRESS: 28,
  VENDOR_SPECIFIC: 43,
  REQUESTED_ADDRESS: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_REQUEST_LIST: 55,
  MESSAGE: 56,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  VENDOR_CLASS: 60,
  CLIENT_ID: 61,
  TFTP_SERVER_NAME: 66,
  BOOTFILE_NAME: 67,
  USER_CLASS: 77,
  CLIENT_ARCH: 93,
  CLIENT_NDI: 94,
  CLIENT_UUID: 97,
  IPXE_ENCAPSULATED: 175,
  END: 255,
} as const;

export interface DhcpMessage {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** The 16-byte client hardware address field as sent (only the first `hlen` bytes mean anything). */
  chaddr: Buffer;
  /** Server host name and boot file name, when those fields are not overloaded with options. */
  sname: string;
  file: string;
  /** Option code → value; repeated instances of one code are concatenated (RFC 3396). */
  options: Map<number, Buffer>;
}

export class MalformedMessage extends Error {
  override readonly name = "MalformedMessage";
}

/** Decodes one datagram; throws MalformedMessage for anything not a well-formed DHCP message. */
export function decodeMessage(datagram: Buffer): DhcpMessage {
  if (datagram.length < OPTIONS_START) throw new MalformedMessage(`${datagram.length} bytes: shorter than the header`);
  if (datagram.readUInt32BE(HEADER_LENGTH) !== MAGIC_COOKIE) throw new MalformedMessage("no DHCP magic cookie");
  const hlen = datagram[2]!;
  if (hlen > 16) throw new MalformedMessage(`hardware address length ${hlen} exceeds the 16-byte field`);
  const options = new Map<number, Buffer>();
  readOptions(datagram, OPTIONS_START, datagram.length, options, "options");
  const overload = options.get(Option.OVERLOAD);
  let overloaded = 0;
  if (overload !== undefined) {
    if (overload.length !== 1 || overload[0]! < 1 || overload[0]! > 3)
      throw new MalformedMessage("option 52 (overload) is not 1, 2 or 3");
    overloaded = overload[0]!;
    options.delete(Option.OVERLOAD);
    // RFC 2131 §4.1: options, then `file`, then `sname`.
    if (overloaded & 1) readOptions(datagram, FILE.start, FILE.start + FILE.length, options, "file");
    if (overloaded & 2) readOptions(datagram, SNAME.start, SNAME.start + SNAME.length, options, "sname");
  }
  return {
    op: datagram[0]!,
    htype: datagram[1]!,
    hlen,
    hops: datagram[3]!,
    xid: datagram.readUInt32BE(4),
    secs: datagram.readUInt16BE(8),
    flags: datagram.readUInt16BE(10),
    ciaddr: readAddress(datagram, 12),
    yiaddr: readAddress(datagram, 16),
    siaddr: readAddress(datagram, 20),
    giaddr: readAddress(datagram, 24),
    chaddr: datagram.subarray(28, 44),
    sname: overloaded & 2 ? "" : readText(datagram, SNAME.start, SNAME.length),
    file: overloaded & 1 ? "" : readText(datagram, FILE.start, FILE.length),
    options,
  };
}

/**
 * Options from `start` up to END or `limit`. Every option's length must fit before `limit`; an
 * area that ends without END is accepted (many clients omit it), one that is cut inside an
 * option is not.
 */
function readOptions(datagram: Buffer, start: number, limit: number, into: Map<number, Buffer>, area: string): void {
  let at = start;
  while (at < limit) {
    const code = datagram[at]!;
    if (code === Option.END) return;
    if (code === Option.PAD) {
      at += 1;
      continue;
    }
    if (at + 1 >= limit) throw new MalformedMessage(`option ${code} in ${area} has no length`);
    const length = datagram[at + 1]!;
    const end = at + 2 + length;
    if (end > limit) throw new MalformedMessage(`option ${code} in ${area} runs past its end`);
    if (code === Option.OVERLOAD && area !== "options") throw new MalformedMessage(`option 52 inside ${area}`);
    // Views into the datagram, not copies: Node hands every datagram its own buffer.
    const value = datagram.subarray(at + 2, end);
    const earlier = into.get(code);
    into.set(code, earlier === undefined ? value : Buffer.concat([earlier, value]));
    at = end;
  }
}

/** Most address fields of a request are empty: one shared string for them, no number formatting. */
const ZERO_ADDRESS = "0.0.0.0";
const DECIMAL = Array.from({ length: 256 }, (_, byte) => String(byte));

function readAddress(datagram: Buffer, at: number): string {
  if (datagram.readUInt32BE(at) === 0) return ZERO_ADDRESS;
  return `${DECIMAL[datagram[at]!]}.${DECIMAL[datagram[at + 1]!]}.${DECIMAL[datagram[at + 2]!]}.${DECIMAL[datagram[at + 3]!]}`;
}

function readText(datagram: Buffer, start: number, length: number): string {
  let end = start;
  while (end < start + length && datagram[end] !== 0) end++;
  return datagram.toString("latin1", start, end);
}

export interface EncodeInput {
  op: number;
  xid: number;
  flags?: number;
  secs?: number;
  hops?: number;
  htype?: number;
  hlen?: number;
  ciaddr?: string;
  yiaddr?: string;
  siaddr?: string;
  giaddr?: string;
  chaddr: Buffer;
  sname?: string;
  file?: string;
  /** In the order given; a value longer than 255 bytes is split into several instances (RFC 3396). */
  options: [number, Buffer][];
}

/** Encodes a message; `file` and `sname` longer than their fields are refused (never truncated). */
export function encodeMessage(message: EncodeInput): Buffer {
  const optionBytes = message.options.reduce((sum, [, value]) => sum + value.length + 2 * instances(value), 0);
  const out = Buffer.alloc(Math.max(MINIMUM_MESSAGE, OPTIONS_START + optionBytes + 1));
  out[0] = message.op;
  out[1] = message.htype ?? 1;
  out[2] = message.hlen ?? 6;
  out[3] = message.hops ?? 0;
  out.writeUInt32BE(message.xid >>> 0, 4);
  out.writeUInt16BE(message.secs ?? 0, 8);
  out.writeUInt16BE(message.flags ?? 0, 10);
  writeAddress(out, 12, message.ciaddr);
  writeAddress(out, 16, message.yiaddr);
  writeAddress(out, 20, message.siaddr);
  writeAddress(out, 24, message.giaddr);
  message.chaddr.copy(out, 28, 0, Math.min(16, message.chaddr.length));
  writeText(out, SNAME, message.sname ?? "", "sname");
  writeText(out, FILE, message.file ?? "", "file");
  out.writeUInt32BE(MAGIC_COOKIE, HEADER_LENGTH);
  let at = OPTIONS_START;
  for (const [code, value] of message.options) {
    for (let from = 0; from < value.length || from === 0; from += 255) {
      const piece = value.subarray(from, from + 255);
      out[at] = code;
      out[at + 1] = piece.length;
      piece.copy(out, at + 2);
      at += 2 + piece.length;
      if (value.length === 0) break;
    }
  }
  out[at] = Option.END;
  return out;
}

const instances = (value: Buffer) => Math.max(1, Math.ceil(value.length / 255));

/** On the reply path for every message: a dotted quad written without splitting strings. */
export function writeAddress(out: Buffer, at: number, address: string | undefined): void {
  if (address === undefined) return;
  if (address === ZERO_ADDRESS) {
    out.writeUInt32BE(0, at);
    return;
  }
  let octet = 0;
  let index = 0;
  for (let i = 0; i < address.length; i++) {
    const code = address.charCodeAt(i);
    if (code === 46) {
      out[at + index++] = octet;
      octet = 0;
    } else if (code >= 48 && code <= 57 && index < 4) {
      octet = octet * 10 + code - 48;
    } else {
      throw new RangeError(`"${address}" is not an IPv4 address`);
    }
  }
  if (index !== 3 || octet > 255) throw new RangeError(`"${address}" is not an IPv4 address`);
  out[at + index] = octet;
}

function writeText(out: Buffer, field: { start: number; length: number }, text: string, name: string): void {
  // latin1: one byte per character.
  if (text.length >= field.length) throw new RangeError(`${name} "${text}" does not fit in ${field.length - 1} bytes`);
  if (text.length > 0) out.write(text, field.start, "latin1");
}

/** "10.0.0.1" → 4 bytes. The caller passes validated dotted-quad addresses. */
export function addressBytes(address: string): Buffer {
  const parts = address.split(".").map(Number);
  if (parts.length !== 4 || parts.some((part) => !Number.isInteger(part) || part < 0 || part > 255))
    throw new RangeError(`"${address}" is not an IPv4 address`);
  return Buffer.from(parts);
}

/** The client's hardware address in lowercase colon form ("52:54:00:a1:9c:ae"). */
export function macOf(message: Pick<DhcpMessage, "chaddr" | "hlen">): string {
  let mac = "";
  for (let i = 0; i < message.hlen; i++) mac += i === 0 ? HEX[message.chaddr[i]!] : `:${HEX[message.chaddr[i]!]}`;
  return mac;
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

export const textOption = (text: string) => Buffer.from(text, "latin1");
export const u32Option = (value: number) => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out;
};
export const addressesOption = (addresses: string[]) => Buffer.concat(addresses.map(addressBytes));
