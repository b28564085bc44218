import type { Answer } from "./answer.js";
import { MessageWriter, responseFlags } from "./message.js";
import { CLASSIC_UDP_PAYLOAD, type Edns, FLAG, MAX_UDP_PAYLOAD, type Query, RCODE } from "./wire.js";

/** Turning answers and errors into response messages, with TC when they do not fit. Pure. */

const writer = new MessageWriter();

export interface ResponseOptions {
  /** Largest message the transport allows: the client's EDNS size (bounded) for UDP, 65535 for TCP. */
  maxSize: number;
  authoritative: boolean;
  recursionAvailable: boolean;
}

/** RFC 6891 6.2.5: honour the requestor's payload size, but never below 512 nor above what we advertise. */
export function udpLimit(edns: Edns | undefined): number {
  if (edns === undefined) return CLASSIC_UDP_PAYLOAD;
  return Math.min(Math.max(edns.udpSize, CLASSIC_UDP_PAYLOAD), MAX_UDP_PAYLOAD);
}

export function encodeAnswer(message: Uint8Array, query: Query, answer: Answer, options: ResponseOptions): Buffer {
  writer.reset();
  writer.skipHeader();
  writer.question(message, query.questionStart, query.questionEnd, query.name);
  const questionEnd = writer.position;
  for (const record of answer.answer) writer.record(record);
  for (const record of answer.authority) writer.record(record);
  for (const record of answer.additional) writer.record(record);
  let counts: [number, number, number, number] = [
    1,
    answer.answer.length,
    answer.authority.length,
    answer.additional.length + (query.edns ? 1 : 0),
  ];
  let extra = (options.authoritative ? FLAG.AA : 0) | (options.recursionAvailable ? FLAG.RA : 0);
  if (query.edns) writer.opt(answer.rcode, query.edns.dnssecOk);
  if (writer.position > options.maxSize) {
    // RFC 2181 9: a truncated answer is better empty than partial; the client retries over TCP.
    writer.position = questionEnd;
    if (query.edns) writer.opt(answer.rcode, query.edns.dnssecOk);
    counts = [1, 0, 0, query.edns ? 1 : 0];
    extra |= FLAG.TC;
  }
  writer.header(query.id, responseFlags(query.flags, answer.rcode, extra), counts);
  return writer.finish();
}

/** A response with no records, echoing the question when there is one (REFUSED, SERVFAIL, NOTIMP…). */
export function encodeEmpty(
  message: Uint8Array,
  query: Pick<Query, "id" | "flags" | "edns"> & Partial<Pick<Query, "questionStart" | "questionEnd" | "name">>,
  rcode: number,
  recursionAvailable: boolean,
): Buffer {
  writer.reset();
  writer.skipHeader();
  const hasQuestion = query.questionStart !== undefined && query.questionEnd !== undefined && query.name !== undefined;
  if (hasQuestion) writer.question(message, query.questionStart!, query.questionEnd!, query.name!);
  if (query.edns) writer.opt(rcode, query.edns.dnssecOk);
  const flags = responseFlags(query.flags, rcode, recursionAvailable ? FLAG.RA : 0);
  writer.header(query.id, flags, [hasQuestion ? 1 : 0, 0, 0, query.edns ? 1 : 0]);
  return writer.finish();
}

export function refused(message: Uint8Array, query: Query): Buffer {
  return encodeEmpty(message, query, RCODE.REFUSED, false);
}
