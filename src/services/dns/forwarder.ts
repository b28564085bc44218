import { randomInt } from "node:crypto";
import { createSocket } from "node:dgram";
import { connect, isIPv6 } from "node:net";
import type { Events } from "../../events.js";
import { formatEndpoint } from "../../net/endpoint.js";
import type { DnsEndpoint } from "./config.js";
import type { DnsMetrics } from "./metrics.js";
import { buildUpstreamQuery, checkUpstreamAnswer, type UpstreamAnswer } from "./upstream-message.js";
import { RCODE } from "./wire.js";

/**
 * Asks the configured upstreams, in order, with failover. Every query gets a fresh random id and
 * a fresh socket (so a kernel-chosen random source port); answers must match id and question
 * (RFC 5452); truncated answers are asked again over TCP. Identical questions in flight share one
 * upstream exchange, which also keeps a forwarding loop from multiplying itself.
 */

/** After failing, an upstream goes to the back of the line for this long. */
const DEMOTION_MS = 5_000;
/** Distinct questions out to upstreams at once (dnsmasq's dns-forward-max is 150); beyond it we answer SERVFAIL. */
const MAX_IN_FLIGHT = 500;

interface UpstreamState {
  endpoint: DnsEndpoint;
  label: string;
  downSince: number | undefined;
}

export class Forwarder {
  private readonly upstreams: UpstreamState[];
  private readonly inFlight = new Map<string, Promise<UpstreamAnswer | undefined>>();
  /** "id/type/name" of every query we have out: seeing one come back in is a forwarding loop. */
  readonly outstanding = new Set<string>();

  constructor(
    upstreams: DnsEndpoint[],
    private readonly timeoutMs: number,
    private readonly metrics: DnsMetrics,
    private readonly events: Events,
  ) {
    this.upstreams = upstreams.map((endpoint) => ({ endpoint, label: formatEndpoint(endpoint), downSince: undefined }));
  }

  get enabled(): boolean {
    return this.upstreams.length > 0;
  }

  /** The first acceptable answer, the last SERVFAIL/REFUSED if nothing better came, or undefined when all timed out. */
  resolve(name: string, type: number, forwardedBy: number[]): Promise<UpstreamAnswer | undefined> {
    const key = `${type}/${name}`;
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    if (this.inFlight.size >= MAX_IN_FLIGHT) return Promise.resolve(undefined);
    const exchange = this.askInTurn(name, type, forwardedBy).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, exchange);
    return exchange;
  }

  private async askInTurn(name: string, type: number, forwardedBy: number[]): Promise<UpstreamAnswer | undefined> {
    let fallback: UpstreamAnswer | undefined;
    for (const upstream of this.order()) {
      const answer = await this.ask(upstream, name, type, forwardedBy);
      if (answer === undefined) continue;
      if (answer.rcode === RCODE.SERVFAIL || answer.rcode === RCODE.REFUSED) {
        fallback = answer;
        continue;
      }
      return answer;
    }
    return fallback;
  }

  /** Healthy upstreams in configured order, then demoted ones (still tried: better late than never). */
  private order(): UpstreamState[] {
    const now = Date.now();
    const healthy = this.upstreams.filter((u) => u.downSince === undefined || now - u.downSince > DEMOTION_MS);
    return [...healthy, ...this.upstreams.filter((u) => !healthy.includes(u))];
  }

  private async ask(
    upstream: UpstreamState,
    name: string,
    type: number,
    forwardedBy: number[],
  ): Promise<UpstreamAnswer | undefined> {
    const started = process.hrtime.bigint();
    let answer = await this.exchange(upstream.endpoint, name, type, forwardedBy, "udp");
    if (answer?.truncated) answer = (await this.exchange(upstream.endpoint, name, type, forwardedBy, "tcp")) ?? answer;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (answer === undefined) {
      this.metrics.upstreamFailure(upstream.label);
      if (upstream.downSince === undefined) {
        this.events.emit({
          level: "warn",
          kind: "dns.upstream.down",
          service: "dns",
          message: `upstream ${upstream.label} did not answer within ${this.timeoutMs} ms; trying the next`,
          detail: { upstream: upstream.label },
        });
      }
      upstream.downSince = Date.now();
      return undefined;
    }
    this.metrics.upstreamLatency(upstream.label, seconds);
    if (upstream.downSince !== undefined) {
      upstream.downSince = undefined;
      this.events.emit({
        level: "info",
        kind: "dns.upstream.up",
        service: "dns",
        message: `upstream ${upstream.label} answers again`,
      });
    }
    return answer;
  }

  private exchange(
    endpoint: DnsEndpoint,
    name: string,
    type: number,
    forwardedBy: number[],
    transport: "udp" | "tcp",
  ): Promise<UpstreamAnswer | undefined> {
    const id = randomInt(0x10000);
    const marker = `${id}/${type}/${name}`;
    this.outstanding.add(marker);
    const query = buildUpstreamQuery(id, name, type, forwardedBy);
    const accept = (message: Uint8Array) => {
      const verdict = checkUpstreamAnswer(message, id, name, type);
      if (verdict.kind === "reject") this.metrics.upstreamRejected(formatEndpoint(endpoint), verdict.reason);
      return verdict.kind === "accept" ? verdict.answer : undefined;
    };
    const run = transport === "udp" ? udpExchange : tcpExchange;
    return run(endpoint, query, accept, this.timeoutMs).finally(() => this.outstanding.delete(marker));
  }
}

type Accept = (message: Uint8Array) => UpstreamAnswer | undefined;

function udpExchange(
  endpoint: DnsEndpoint,
  query: Buffer,
  accept: Accept,
  timeoutMs: number,
): Promise<UpstreamAnswer | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket(isIPv6(endpoint.address) ? "udp6" : "udp4");
    let done = false;
    const finish = (answer: UpstreamAnswer | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.on("error", () => finish(undefined));
    // Anything not matching id and question is ignored (RFC 5452) and we keep waiting for the real answer.
    socket.on("message", (message) => {
      const answer = accept(message);
      if (answer) finish(answer);
    });
    // A connected socket: the kernel drops datagrams from any other address or port.
    socket.connect(endpoint.port, endpoint.address, () => socket.send(query, (error) => error && finish(undefined)));
  });
}

function tcpExchange(
  endpoint: DnsEndpoint,
  query: Buffer,
  accept: Accept,
  timeoutMs: number,
): Promise<UpstreamAnswer | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: endpoint.address, port: endpoint.port });
    let received = Buffer.alloc(0);
    let done = false;
    const finish = (answer: UpstreamAnswer | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.on("error", () => finish(undefined));
    socket.on("close", () => finish(undefined));
    socket.on("connect", () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(query.length);
      socket.write(Buffer.concat([length, query]));
    });
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 2) {
        const size = received.readUInt16BE(0);
        if (received.length < 2 + size) return;
        const answer = accept(received.subarray(2, 2 + size));
        if (answer) return finish(answer);
        received = received.subarray(2 + size);
      }
    });
  });
}
