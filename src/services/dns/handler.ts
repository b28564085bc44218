import type { Events } from "../../events.js";
import type { NetworkMatcher } from "./address.js";
import { type Answer, answerAuthoritative } from "./answer.js";
import {
  type AnswerTable,
  type EncodedResponse,
  forwardedEntry,
  keep,
  responseFrom,
  tableKey,
} from "./answer-table.js";
import { AnswerCache } from "./cache.js";
import type { Forwarder } from "./forwarder.js";
import type { ResourceRecord } from "./message.js";
import type { DnsMetrics, Transport } from "./metrics.js";
import { encodeAnswer, encodeEmpty, udpLimit } from "./respond.js";
import { decodeRecords, encodeForwarded, type UpstreamAnswer } from "./upstream-message.js";
import { CLASS_ANY, CLASS_IN, parseQuery, type Query, RCODE, TYPE } from "./wire.js";
import type { ZoneSet } from "./zone.js";

/**
 * One query in, one response out (or none): access control, the precomputed-answer table,
 * authoritative data, then the cache and the forwarder. Socket-free, so tests can drive it.
 */

/** Everything a reload swaps at once. */
export interface DnsState {
  zones: ZoneSet;
  matcher: NetworkMatcher;
  forwarder: Forwarder;
  cache: AnswerCache;
  /** Encoded responses to exact query bytes (minus the id), per listener and transport: the fast path. */
  encoded: AnswerTable;
}

const MAX_TCP_MESSAGE = 65535;
const LOOP_EVENT_INTERVAL_MS = 10_000;

export type HandlerResult = Buffer | undefined | Promise<Buffer | undefined>;

/**
 * In a worker process: hands a query the worker does not answer itself (forwarding, loops, the
 * rare kinds) to the primary, which answers it with its own cache and upstreams.
 */
export type Delegate = (
  message: Buffer,
  local: string,
  listenerKey: string,
  remote: string,
  key: string,
) => Promise<Buffer | undefined>;

/** What the primary hands back for a delegated query: the response, and its table entry when it kept one. */
export interface DelegatedAnswer {
  response: Buffer | undefined;
  remember: EncodedResponse | undefined;
}

export class QueryHandler {
  private lastLoopEvent = 0;

  constructor(
    public state: DnsState,
    private readonly metrics: DnsMetrics,
    private readonly events: Events,
    private readonly instanceId: number,
    private readonly delegate?: Delegate,
  ) {}

  /**
   * `local` is the address the query arrived on ("" when unknown), `listenerKey` tells listeners
   * apart in the precomputed table.
   */
  handle(message: Buffer, local: string, listenerKey: string, remote: string, transport: Transport): HandlerResult {
    if (message.length < 12 || (message[2]! & 0x80) !== 0) {
      this.metrics.dropped += 1;
      return undefined;
    }
    const state = this.state;
    if (!state.matcher.allows(remote)) return this.refuse(message, transport);
    const key = tableKey(listenerKey, transport, message);
    const known = state.encoded.get(key);
    if (known !== undefined) {
      const out = responseFrom(known, Date.now);
      if (out === undefined) {
        state.encoded.delete(key);
      } else {
        if (known.forwarded !== undefined) this.metrics.cacheHits += 1;
        this.metrics.query(transport, known.type);
        this.metrics.response(known.rcode);
        out[0] = message[0]!;
        out[1] = message[1]!;
        return out;
      }
    }
    return this.answer(message, local, listenerKey, remote, key, transport, state);
  }

  /** In the primary: a query a worker handed over, answered as if it had arrived here. */
  async answerDelegated(message: Buffer, local: string, listenerKey: string, remote: string): Promise<DelegatedAnswer> {
    const response = await this.handle(message, local, listenerKey, remote, "udp");
    const remember = this.state.encoded.get(tableKey(listenerKey, "udp", message));
    return { response, remember };
  }

  /** In a worker: keeps what the primary kept for a delegated query, unless a reload came in between. */
  adopt(key: string, entry: EncodedResponse, stateAsked: DnsState): void {
    if (this.state === stateAsked) keep(stateAsked.encoded, key, entry);
  }

  private refuse(message: Buffer, transport: Transport): Buffer | undefined {
    const verdict = parseQuery(message);
    if (verdict.kind === "drop") return undefined;
    if (verdict.kind === "query") this.metrics.query(transport, verdict.query.type);
    this.metrics.response(RCODE.REFUSED);
    const query =
      verdict.kind === "query" ? verdict.query : { id: verdict.id, flags: verdict.flags, edns: verdict.edns };
    return encodeEmpty(message, query, RCODE.REFUSED, false);
  }

  private answer(
    message: Buffer,
    local: string,
    listenerKey: string,
    remote: string,
    key: string,
    transport: Transport,
    state: DnsState,
  ): HandlerResult {
    const verdict = parseQuery(message);
    if (verdict.kind === "drop") {
      this.metrics.dropped += 1;
      return undefined;
    }
    const recursion = state.forwarder.enabled;
    if (verdict.kind === "error") {
      this.metrics.response(verdict.rcode);
      return encodeEmpty(
        message,
        { id: verdict.id, flags: verdict.flags, edns: verdict.edns },
        verdict.rcode,
        recursion,
      );
    }
    const query = verdict.query;
    if (this.delegate !== undefined) return this.answerInWorker(message, query, local, listenerKey, remote, key, state);
    this.metrics.query(transport, query.type);
    if (this.isOwnQueryReturning(query, state)) return this.empty(message, query, RCODE.SERVFAIL, recursion);
    if (query.qclass !== CLASS_IN && query.qclass !== CLASS_ANY)
      return this.empty(message, query, RCODE.REFUSED, recursion);
    if (query.type === TYPE.AXFR || query.type === TYPE.IXFR)
      return this.empty(message, query, RCODE.REFUSED, recursion);
    const maxSize = transport === "tcp" ? MAX_TCP_MESSAGE : udpLimit(query.edns);

    const own = answerAuthoritative(state.zones, query.name, query.type, local);
    if (own?.outsideTarget !== undefined && recursion && own.rcode === RCODE.NOERROR) {
      return this.chase(message, query, own, own.outsideTarget, maxSize, state);
    }
    if (own !== undefined) return this.authoritative(message, query, own, key, maxSize, state);
    if (!recursion) return this.empty(message, query, RCODE.REFUSED, false);
    return this.forward(message, query, key, maxSize, state);
  }

  /**
   * A worker answers our own data itself and delegates the rest, counting nothing for what it
   * delegates (the primary counts those). Only names outside our zones are ever forwarded, so a
   * looping query never has an answer of ours; one carrying our mark is delegated like the rest.
   */
  private answerInWorker(
    message: Buffer,
    query: Query,
    local: string,
    listenerKey: string,
    remote: string,
    key: string,
    state: DnsState,
  ): HandlerResult {
    const plain =
      (query.qclass === CLASS_IN || query.qclass === CLASS_ANY) &&
      query.type !== TYPE.AXFR &&
      query.type !== TYPE.IXFR &&
      !(query.edns?.forwardedBy.includes(this.instanceId) ?? false);
    const own = plain ? answerAuthoritative(state.zones, query.name, query.type, local) : undefined;
    if (
      own === undefined ||
      (own.outsideTarget !== undefined && state.forwarder.enabled && own.rcode === RCODE.NOERROR)
    )
      return this.delegate!(message, local, listenerKey, remote, key);
    this.metrics.query("udp", query.type);
    return this.authoritative(message, query, own, key, udpLimit(query.edns), state);
  }

  private authoritative(
    message: Buffer,
    query: Query,
    own: Answer,
    key: string,
    maxSize: number,
    state: DnsState,
  ): Buffer {
    const recursionAvailable = state.forwarder.enabled;
    const bytes = encodeAnswer(message, query, own, { maxSize, authoritative: true, recursionAvailable });
    keep(state.encoded, key, { bytes, type: query.type, rcode: own.rcode });
    this.metrics.response(own.rcode);
    return bytes;
  }

  private forward(message: Buffer, query: Query, key: string, maxSize: number, state: DnsState): HandlerResult {
    const cacheKey = AnswerCache.key(query.name, query.type);
    const now = Date.now();
    const cached = state.cache.get(cacheKey, now);
    if (cached) {
      this.metrics.cacheHits += 1;
      this.metrics.response(cached.answer.rcode);
      const bytes = encodeForwarded(message, query, cached.answer, { maxSize, age: cached.age });
      keep(state.encoded, key, forwardedEntry(bytes, query, cached.answer, cached.expiresAt, now));
      return bytes;
    }
    this.metrics.cacheMisses += 1;
    const chain = [...(query.edns?.forwardedBy ?? []), this.instanceId];
    return state.forwarder.resolve(query.name, query.type, chain).then(
      (answer) => {
        if (answer === undefined) return this.empty(message, query, RCODE.SERVFAIL, true);
        const received = Date.now();
        if (!answer.truncated) state.cache.set(cacheKey, answer, received);
        this.metrics.response(answer.rcode);
        const bytes = encodeForwarded(message, query, answer, { maxSize, age: 0 });
        if (!answer.truncated && answer.cacheTtl > 0) {
          const expiresAt = received + answer.cacheTtl * 1000;
          keep(state.encoded, key, forwardedEntry(bytes, query, answer, expiresAt, received));
        }
        return bytes;
      },
      () => this.empty(message, query, RCODE.SERVFAIL, true),
    );
  }

  /**
   * Our CNAME chain left our zones: a recursive server finishes it (stub resolvers do not chase
   * CNAMEs themselves). Not authoritative, since part of the answer is not ours.
   */
  private chase(
    message: Buffer,
    query: Query,
    own: Answer,
    target: string,
    maxSize: number,
    state: DnsState,
  ): HandlerResult {
    const finish = (upstream: UpstreamAnswer | undefined, age: number): Buffer => {
      const decoded = upstream && decodeRecords(upstream, target, query.type);
      if (upstream === undefined || decoded === undefined) return this.empty(message, query, RCODE.SERVFAIL, true);
      const aged = (records: ResourceRecord[]) => records.map((r) => ({ ...r, ttl: Math.max(0, r.ttl - age) }));
      const merged: Answer = {
        rcode: upstream.rcode,
        answer: [...own.answer, ...aged(decoded.answer)],
        authority: decoded.answer.length === 0 ? aged(decoded.authority) : [],
        additional: [],
      };
      this.metrics.response(merged.rcode);
      return encodeAnswer(message, query, merged, { maxSize, authoritative: false, recursionAvailable: true });
    };
    const cacheKey = AnswerCache.key(target, query.type);
    const cached = state.cache.get(cacheKey, Date.now());
    if (cached) {
      this.metrics.cacheHits += 1;
      return finish(cached.answer, cached.age);
    }
    this.metrics.cacheMisses += 1;
    const chain = [...(query.edns?.forwardedBy ?? []), this.instanceId];
    return state.forwarder.resolve(target, query.type, chain).then(
      (answer) => {
        if (answer && !answer.truncated) state.cache.set(cacheKey, answer, Date.now());
        return finish(answer, 0);
      },
      () => this.empty(message, query, RCODE.SERVFAIL, true),
    );
  }

  /** Our own forwarded query arriving back at us (directly, or via other airstrap servers). */
  private isOwnQueryReturning(query: Query, state: DnsState): boolean {
    const direct = state.forwarder.outstanding.has(`${query.id}/${query.type}/${query.name}`);
    const relayed = query.edns?.forwardedBy.includes(this.instanceId) ?? false;
    if (!direct && !relayed) return false;
    this.metrics.loops += 1;
    const now = Date.now();
    if (now - this.lastLoopEvent > LOOP_EVENT_INTERVAL_MS) {
      this.lastLoopEvent = now;
      this.events.emit({
        level: "error",
        kind: "dns.loop",
        service: "dns",
        message: `forwarding loop: our own query for ${query.name || "."} came back to us; answering SERVFAIL`,
        detail: { name: query.name },
      });
    }
    return true;
  }

  private empty(message: Buffer, query: Query, rcode: number, recursion: boolean): Buffer {
    this.metrics.response(rcode);
    return encodeEmpty(message, query, rcode, recursion);
  }
}
