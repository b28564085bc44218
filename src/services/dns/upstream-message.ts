import { MessageWriter, type ResourceRecord, responseFlags } from "./message.js";
import { encodeName } from "./names.js";
import type { Rdata } from "./rdata.js";
import {
  CLASS_IN,
  FLAG,
  HEADER_SIZE,
  MAX_UDP_PAYLOAD,
  OPTION_FORWARDED_BY,
  type Query,
  RCODE,
  readName,
  TYPE,
  walkRecords,
} from "./wire.js";

/**
 * Messages exchanged with upstream resolvers: the query we send, the checks an answer must pass
 * (RFC 5452), and the cacheable form of an accepted answer. Pure.
 */

const writer = new MessageWriter();

/** Our query: random id, RD, the name in lower case, our OPT with the chain of forwarders (loop detection). */
export function buildUpstreamQuery(id: number, name: string, type: number, forwardedBy: number[]): Buffer {
  writer.reset();
  writer.skipHeader();
  writer.name(name, false);
  writer.u16(type);
  writer.u16(CLASS_IN);
  writer.u8(0);
  writer.u16(TYPE.OPT);
  writer.u16(MAX_UDP_PAYLOAD);
  writer.u32(0);
  writer.u16(4 + forwardedBy.length * 4);
  writer.u16(OPTION_FORWARDED_BY);
  writer.u16(forwardedBy.length * 4);
  for (const instance of forwardedBy) writer.u32(instance);
  writer.header(id, FLAG.RD, [1, 0, 0, 1]);
  return writer.finish();
}

/** What we keep of an accepted upstream answer: its records without the upstream's OPT. */
export interface UpstreamAnswer {
  rcode: number;
  truncated: boolean;
  /** Offset in `body` is relative to the end of the question; pointers inside still address the original layout. */
  body: Buffer;
  counts: [number, number, number];
  /** Where each record's TTL sits inside `body`. */
  ttlOffsets: number[];
  /** How long it may be cached: min TTL (positive) or min(SOA TTL, MINIMUM) (negative, RFC 2308); 0 = not at all. */
  cacheTtl: number;
}

export type UpstreamVerdict = { kind: "accept"; answer: UpstreamAnswer } | { kind: "reject"; reason: string };

const u16 = (m: Uint8Array, o: number) => (m[o]! << 8) | m[o + 1]!;
const u32 = (m: Uint8Array, o: number) => ((m[o]! << 24) | (m[o + 1]! << 16) | (m[o + 2]! << 8) | m[o + 3]!) >>> 0;

/** RFC 5452: the answer must carry our id and exactly our question, or it is not an answer. */
export function checkUpstreamAnswer(message: Uint8Array, id: number, name: string, type: number): UpstreamVerdict {
  if (message.length < HEADER_SIZE) return { kind: "reject", reason: "shorter than a header" };
  if (u16(message, 0) !== id) return { kind: "reject", reason: "wrong id" };
  const flags = u16(message, 2);
  if ((flags & FLAG.QR) === 0) return { kind: "reject", reason: "not a response" };
  if (u16(message, 4) !== 1) return { kind: "reject", reason: "no question" };
  const question = readName(message, HEADER_SIZE, false);
  if (question === undefined || question.end + 4 > message.length) return { kind: "reject", reason: "bad question" };
  if (question.name !== name || u16(message, question.end) !== type || u16(message, question.end + 2) !== CLASS_IN) {
    return { kind: "reject", reason: "question does not match" };
  }
  const questionEnd = question.end + 4;
  const an = u16(message, 6);
  const ns = u16(message, 8);
  const ar = u16(message, 10);
  const truncated = (flags & FLAG.TC) !== 0;
  const spans = walkRecords(message, questionEnd, an + ns + ar);
  if (spans === undefined) {
    if (truncated) return { kind: "accept", answer: emptyAnswer(flags & 0xf, true) };
    return { kind: "reject", reason: "malformed records" };
  }
  let keep = spans.length;
  let extendedRcode = 0;
  const optIndex = spans.findIndex((span, i) => i >= an + ns && span.type === TYPE.OPT);
  if (optIndex >= 0) {
    // Whatever follows the OPT goes too: records after it could point into it.
    keep = optIndex;
    extendedRcode = message[spans[optIndex]!.fixed + 4]!;
  }
  const rcode = (extendedRcode << 4) | (flags & 0xf);
  const kept = spans.slice(0, keep);
  const body = Buffer.from(message.subarray(questionEnd, kept.length > 0 ? kept[kept.length - 1]!.end : questionEnd));
  const ttlOffsets = kept.map((span) => span.fixed + 4 - questionEnd);
  const counts: [number, number, number] = [an, ns, Math.max(0, keep - an - ns)];
  return {
    kind: "accept",
    answer: { rcode, truncated, body, counts, ttlOffsets, cacheTtl: cacheTtlOf(message, kept, an, rcode) },
  };
}

function emptyAnswer(rcode: number, truncated: boolean): UpstreamAnswer {
  return { rcode, truncated, body: Buffer.alloc(0), counts: [0, 0, 0], ttlOffsets: [], cacheTtl: 0 };
}

const MAX_CACHE_TTL = 86_400;

function cacheTtlOf(
  message: Uint8Array,
  spans: { fixed: number; type: number; rdStart: number; end: number }[],
  an: number,
  rcode: number,
): number {
  if (rcode !== RCODE.NOERROR && rcode !== RCODE.NXDOMAIN) return 0;
  const answers = spans.slice(0, an).filter((span) => span.type !== TYPE.OPT);
  if (rcode === RCODE.NOERROR && answers.length > 0) {
    return Math.min(MAX_CACHE_TTL, ...answers.map((span) => u32(message, span.fixed + 4)));
  }
  const soa = spans.slice(an).find((span) => span.type === TYPE.SOA);
  if (soa === undefined) return 0;
  const mname = readName(message, soa.rdStart);
  const rname = mname && readName(message, mname.end);
  if (rname === undefined || rname.end + 20 > soa.end) return 0;
  const minimum = u32(message, rname.end + 16);
  return Math.min(MAX_CACHE_TTL, u32(message, soa.fixed + 4), minimum);
}

export interface ForwardedResponseOptions {
  maxSize: number;
  /** Seconds since the answer was received; subtracted from every TTL. */
  age: number;
}

/** The client's response: its id and question, the upstream's records with aged TTLs, our OPT. */
export function encodeForwarded(
  message: Uint8Array,
  query: Query,
  answer: UpstreamAnswer,
  options: ForwardedResponseOptions,
): Buffer {
  writer.reset();
  writer.skipHeader();
  writer.question(message, query.questionStart, query.questionEnd, query.name);
  const bodyStart = writer.position;
  writer.bytes(answer.body);
  for (const offset of answer.ttlOffsets) {
    const at = bodyStart + offset;
    // Rewriting in place would corrupt the cached copy, so patch the outgoing bytes.
    const ttl = u32(answer.body, offset);
    writer.position = at;
    writer.u32(Math.max(0, ttl - options.age));
  }
  writer.position = bodyStart + answer.body.length;
  let counts: [number, number, number, number] = [1, ...answer.counts];
  let tc = answer.truncated ? FLAG.TC : 0;
  const edns = query.edns;
  if (edns) {
    writer.opt(answer.rcode, edns.dnssecOk);
    counts[3] += 1;
  }
  if (writer.position > options.maxSize) {
    writer.position = bodyStart;
    if (edns) writer.opt(answer.rcode, edns.dnssecOk);
    counts = [1, 0, 0, edns ? 1 : 0];
    tc = FLAG.TC;
  }
  writer.header(query.id, responseFlags(query.flags, answer.rcode, FLAG.RA | tc), counts);
  return writer.finish();
}

/**
 * The upstream's answer and authority records as our own records (names decompressed), so they
 * can follow our CNAME chain in one response. `name` is the question we asked.
 */
export function decodeRecords(
  answer: UpstreamAnswer,
  name: string,
  type: number,
): { answer: ResourceRecord[]; authority: ResourceRecord[] } | undefined {
  const question = encodeName(name);
  const message = Buffer.concat([
    Buffer.alloc(HEADER_SIZE),
    question,
    Buffer.from([type >> 8, type & 0xff, 0, 1]),
    answer.body,
  ]);
  const start = HEADER_SIZE + question.length + 4;
  const spans = walkRecords(message, start, answer.counts[0] + answer.counts[1]);
  if (spans === undefined) return undefined;
  const records: ResourceRecord[] = [];
  for (const span of spans) {
    const owner = readName(message, span.start);
    const rdata = decodeRdata(message, span.type, span.rdStart, span.end);
    if (owner === undefined || rdata === undefined) return undefined;
    records.push({ owner: owner.name, type: span.type, ttl: u32(message, span.fixed + 4), rdata });
  }
  return { answer: records.slice(0, answer.counts[0]), authority: records.slice(answer.counts[0]) };
}

function decodeRdata(message: Buffer, type: number, start: number, end: number): Rdata | undefined {
  const nameAt = (offset: number) => readName(message, offset);
  switch (type) {
    case TYPE.CNAME:
    case TYPE.NS:
    case TYPE.PTR: {
      const target = nameAt(start);
      return target && { kind: "name", name: target.name };
    }
    case TYPE.MX: {
      const exchange = nameAt(start + 2);
      return (
        exchange && {
          kind: "bytes",
          bytes: Buffer.concat([message.subarray(start, start + 2), encodeName(exchange.name)]),
        }
      );
    }
    case TYPE.SRV: {
      const target = nameAt(start + 6);
      return (
        target && {
          kind: "srv",
          priority: u16(message, start),
          weight: u16(message, start + 2),
          port: u16(message, start + 4),
          target: target.name,
        }
      );
    }
    case TYPE.SOA: {
      const mname = nameAt(start);
      const rname = mname && nameAt(mname.end);
      if (rname === undefined || rname.end + 20 > end) return undefined;
      const at = rname.end;
      return {
        kind: "soa",
        mname: mname!.name,
        rname: rname.name,
        serial: u32(message, at),
        refresh: u32(message, at + 4),
        retry: u32(message, at + 8),
        expire: u32(message, at + 12),
        minimum: u32(message, at + 16),
      };
    }
    default:
      // RFC 3597: other types never compress names in their data, so their bytes travel as they are.
      return { kind: "bytes", bytes: Buffer.from(message.subarray(start, end)) };
  }
}
