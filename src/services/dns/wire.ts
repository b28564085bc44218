/**
 * DNS wire format (RFC 1035, RFC 6891): constants, reading names, parsing a query, walking the
 * resource records of a message. Pure; never throws on hostile input (returns a verdict instead).
 */

export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  ANY: 255,
} as const;

export const CLASS_IN = 1;
export const CLASS_ANY = 255;

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  BADVERS: 16,
} as const;

export const RCODE_NAMES: Record<number, string> = {
  0: "NOERROR",
  1: "FORMERR",
  2: "SERVFAIL",
  3: "NXDOMAIN",
  4: "NOTIMP",
  5: "REFUSED",
  16: "BADVERS",
};

export const TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(TYPE).map(([name, value]) => [value, name]),
);

export const HEADER_SIZE = 12;
/** Largest UDP payload we send or advertise (DNS Flag Day 2020). */
export const MAX_UDP_PAYLOAD = 1232;
export const CLASSIC_UDP_PAYLOAD = 512;

/** Flag bits in the second 16-bit word of the header. */
export const FLAG = { QR: 0x8000, AA: 0x0400, TC: 0x0200, RD: 0x0100, RA: 0x0080, AD: 0x0020, CD: 0x0010 } as const;
export const EDNS_DO = 0x8000;

/** EDNS option airstrap adds to queries it forwards, carrying the chain of forwarders (loop detection). */
export const OPTION_FORWARDED_BY = 65001;

export interface Edns {
  udpSize: number;
  version: number;
  dnssecOk: boolean;
  /** Instance ids from our forwarded-by option, if present. */
  forwardedBy: number[];
}

export interface Query {
  id: number;
  opcode: number;
  flags: number;
  /** Lower-case presentation form without the trailing dot; "" is the root. */
  name: string;
  type: number;
  qclass: number;
  /** Byte range of the question section inside the message, echoed verbatim (RFC 4343 case). */
  questionStart: number;
  questionEnd: number;
  edns: Edns | undefined;
}

export type QueryVerdict =
  | { kind: "query"; query: Query }
  /** Not worth answering: too short for a header, or a response (never answer those: reflection loops). */
  | { kind: "drop" }
  | { kind: "error"; rcode: number; id: number; opcode: number; flags: number; edns: Edns | undefined };

export interface NameRead {
  name: string;
  /** Offset just after the name where it appears (after the first pointer, if any). */
  end: number;
}

/**
 * Reads a possibly compressed name. Returns undefined for anything malformed: pointer loops or
 * forward pointers, labels running off the end, names over 255 octets.
 */
export function readName(message: Uint8Array, offset: number, allowPointers = true): NameRead | undefined {
  let name = "";
  let position = offset;
  let end = -1;
  let wireLength = 0;
  let lowestPointer = offset;
  for (;;) {
    if (position >= message.length) return undefined;
    const length = message[position]!;
    if (length === 0) {
      if (end < 0) end = position + 1;
      return wireLength + 1 > 255 ? undefined : { name, end };
    }
    if ((length & 0xc0) === 0xc0) {
      if (!allowPointers || position + 1 >= message.length) return undefined;
      const target = ((length & 0x3f) << 8) | message[position + 1]!;
      // Only strictly backwards pointers: that alone rules out loops.
      if (target >= lowestPointer) return undefined;
      if (end < 0) end = position + 2;
      lowestPointer = target;
      position = target;
      continue;
    }
    if ((length & 0xc0) !== 0) return undefined;
    if (position + 1 + length > message.length) return undefined;
    wireLength += length + 1;
    if (wireLength > 255) return undefined;
    if (name.length > 0) name += ".";
    name += labelText(message, position + 1, length);
    position += length + 1;
  }
}

/** Lower-cases ASCII letters; escapes "." and "\" inside a label so distinct names stay distinct. */
function labelText(message: Uint8Array, start: number, length: number): string {
  let text = "";
  for (let i = start; i < start + length; i++) {
    let byte = message[i]!;
    if (byte >= 0x41 && byte <= 0x5a) byte += 0x20;
    if (byte === 0x2e || byte === 0x5c) text += "\\";
    text += String.fromCharCode(byte);
  }
  return text;
}

/** Parses the OPT RR whose fixed part starts at `offset` (just after its name). */
function readOpt(message: Uint8Array, offset: number, rdLength: number): Edns {
  const view = (i: number) => (message[i]! << 8) | message[i + 1]!;
  const udpSize = view(offset + 2);
  const version = message[offset + 5]!;
  const dnssecOk = (view(offset + 6) & EDNS_DO) !== 0;
  const forwardedBy: number[] = [];
  let position = offset + 10;
  const end = position + rdLength;
  while (position + 4 <= end) {
    const code = view(position);
    const length = view(position + 2);
    if (code === OPTION_FORWARDED_BY) {
      for (let i = position + 4; i + 4 <= position + 4 + length && i + 4 <= end; i += 4) {
        forwardedBy.push(
          ((message[i]! << 24) | (message[i + 1]! << 16) | (message[i + 2]! << 8) | message[i + 3]!) >>> 0,
        );
      }
    }
    position += 4 + length;
  }
  return { udpSize, version, dnssecOk, forwardedBy };
}

export interface RecordSpan {
  start: number;
  /** Offset of the type field (just after the owner name). */
  fixed: number;
  type: number;
  rdStart: number;
  end: number;
}

/**
 * Walks `count` resource records starting at `offset`; undefined when any of them is malformed
 * (bad owner name, truncated fixed part or rdata).
 */
export function walkRecords(message: Uint8Array, offset: number, count: number): RecordSpan[] | undefined {
  const spans: RecordSpan[] = [];
  let position = offset;
  for (let i = 0; i < count; i++) {
    const owner = readName(message, position);
    if (owner === undefined || owner.end + 10 > message.length) return undefined;
    const fixed = owner.end;
    const type = (message[fixed]! << 8) | message[fixed + 1]!;
    const rdLength = (message[fixed + 8]! << 8) | message[fixed + 9]!;
    const end = fixed + 10 + rdLength;
    if (end > message.length) return undefined;
    spans.push({ start: position, fixed, type, rdStart: fixed + 10, end });
    position = end;
  }
  return spans;
}

const u16 = (message: Uint8Array, offset: number) => (message[offset]! << 8) | message[offset + 1]!;

/** Parses an incoming query. Anything that is not a well-formed single-question query gets an error verdict. */
export function parseQuery(message: Uint8Array): QueryVerdict {
  if (message.length < HEADER_SIZE) return { kind: "drop" };
  const id = u16(message, 0);
  const flags = u16(message, 2);
  if ((flags & FLAG.QR) !== 0) return { kind: "drop" };
  const opcode = (flags >> 11) & 0xf;
  const qdCount = u16(message, 4);
  const anCount = u16(message, 6);
  const nsCount = u16(message, 8);
  const arCount = u16(message, 10);
  const formErr = (edns?: Edns): QueryVerdict => ({ kind: "error", rcode: RCODE.FORMERR, id, opcode, flags, edns });

  if (qdCount !== 1)
    return opcode === 0 ? formErr() : { kind: "error", rcode: RCODE.NOTIMP, id, opcode, flags, edns: undefined };
  // A question name never needs compression: there is nothing before it to point at.
  const question = readName(message, HEADER_SIZE, false);
  if (question === undefined || question.end + 4 > message.length) return formErr();
  const type = u16(message, question.end);
  const qclass = u16(message, question.end + 2);
  const questionEnd = question.end + 4;

  const records = walkRecords(message, questionEnd, anCount + nsCount + arCount);
  if (records === undefined) return formErr();
  const recordsEnd = records.length > 0 ? records[records.length - 1]!.end : questionEnd;
  if (recordsEnd !== message.length) return formErr();
  let edns: Edns | undefined;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    if (record.type !== TYPE.OPT) continue;
    // Exactly one OPT, in the additional section, owned by the root (RFC 6891 6.1.1).
    if (edns !== undefined || i < anCount + nsCount || record.fixed !== record.start + 1) return formErr();
    edns = readOpt(message, record.fixed, record.end - record.rdStart);
  }
  if (opcode !== 0) return { kind: "error", rcode: RCODE.NOTIMP, id, opcode, flags, edns };
  if (edns !== undefined && edns.version > 0) return { kind: "error", rcode: RCODE.BADVERS, id, opcode, flags, edns };
  if (type === TYPE.OPT || anCount !== 0 || nsCount !== 0) return formErr(edns);
  return {
    kind: "query",
    query: { id, opcode, flags, name: question.name, type, qclass, questionStart: HEADER_SIZE, questionEnd, edns },
  };
}
