import type { UpstreamAnswer } from "./upstream-message.js";
import type { Query } from "./wire.js";

/**
 * The fast path: encoded responses kept by the exact bytes of the query (after the id), per
 * listener and transport. A hit costs a Map lookup, a copy and two bytes of id; forwarded answers
 * also get their TTLs counted down in the copy.
 */

export interface EncodedResponse {
  bytes: Buffer;
  type: number;
  rcode: number;
  /** Forwarded answers only: when the cached answer expires, when these bytes were made, where their TTLs sit. */
  forwarded?: { expiresAt: number; encodedAt: number; ttlPositions: number[] };
}

export type AnswerTable = Map<string, EncodedResponse>;

const TABLE_LIMIT = 50_000;

export function tableKey(listenerKey: string, transport: string, message: Buffer): string {
  return listenerKey + transport + message.toString("latin1", 2);
}

/** Bounded: a full table starts over rather than growing without end under random names. */
export function keep(table: AnswerTable, key: string, entry: EncodedResponse): void {
  if (table.size >= TABLE_LIMIT) table.clear();
  table.set(key, entry);
}

/** The entry for a forwarded answer's encoded response. */
export function forwardedEntry(
  bytes: Buffer,
  query: Query,
  answer: UpstreamAnswer,
  expiresAt: number,
  now: number,
): EncodedResponse {
  const truncated = (bytes[2]! & 0x02) !== 0;
  const ttlPositions = truncated ? [] : answer.ttlOffsets.map((offset) => query.questionEnd + offset);
  return { bytes, type: query.type, rcode: answer.rcode, forwarded: { expiresAt, encodedAt: now, ttlPositions } };
}

/** A copy to send, TTLs counted down for a forwarded answer; undefined once a forwarded answer expired. */
export function responseFrom(known: EncodedResponse, now: () => number): Buffer | undefined {
  const forwarded = known.forwarded;
  if (forwarded === undefined) return copyOf(known.bytes);
  const at = now();
  if (at >= forwarded.expiresAt) return undefined;
  const out = copyOf(known.bytes);
  const age = Math.floor((at - forwarded.encodedAt) / 1000);
  if (age > 0) {
    for (const position of forwarded.ttlPositions)
      out.writeUInt32BE(Math.max(0, out.readUInt32BE(position) - age), position);
  }
  return out;
}

function copyOf(bytes: Buffer): Buffer {
  const out = Buffer.allocUnsafe(bytes.length);
  bytes.copy(out);
  return out;
}
