import { RCODE_NAMES, TYPE_NAMES } from "./wire.js";

/** Counters of the DNS server, rendered in the Prometheus text format. Cheap to bump on the hot path. */

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

interface Histogram {
  buckets: number[];
  sum: number;
  count: number;
}

export type Transport = "udp" | "tcp";

/**
 * The counters a worker process keeps (it answers UDP from the table and our own data; the
 * primary does everything else), sent to the primary, which adds them into what it renders.
 */
export interface CounterSnapshot {
  /** [transport index (0 udp, 1 tcp), type, count] for every non-zero count. */
  queries: [number, number, number][];
  /** [rcode, count] for every non-zero count. */
  responses: [number, number][];
  cacheHits: number;
  dropped: number;
  udpErrors: number;
}

/** What the primary knows about its worker processes, rendered with its own counters. */
export interface WorkerCounters {
  /** Processes answering UDP, the primary included. */
  processes: number;
  restarts: number;
  /** The latest counters of every worker, and the last ones of workers that have exited. */
  snapshots: CounterSnapshot[];
}

export class DnsMetrics {
  private readonly queries = { udp: new Float64Array(65536), tcp: new Float64Array(65536) };
  private readonly responses = new Float64Array(4096);
  cacheHits = 0;
  cacheMisses = 0;
  loops = 0;
  reloads = 0;
  dropped = 0;
  /** Errors a UDP socket reported after it was bound (a reply the kernel refused to send). */
  udpErrors = 0;
  private readonly latency = new Map<string, Histogram>();
  private readonly failures = new Map<string, number>();
  private readonly rejected = new Map<string, number>();

  query(transport: Transport, type: number): void {
    this.queries[transport][type]! += 1;
  }

  response(rcode: number): void {
    this.responses[rcode & 0xfff]! += 1;
  }

  upstreamLatency(upstream: string, seconds: number): void {
    let histogram = this.latency.get(upstream);
    if (!histogram) {
      histogram = { buckets: LATENCY_BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.latency.set(upstream, histogram);
    }
    LATENCY_BUCKETS.forEach((bound, i) => {
      if (seconds <= bound) histogram.buckets[i]! += 1;
    });
    histogram.sum += seconds;
    histogram.count += 1;
  }

  upstreamFailure(upstream: string): void {
    this.failures.set(upstream, (this.failures.get(upstream) ?? 0) + 1);
  }

  upstreamRejected(upstream: string, reason: string): void {
    const key = `upstream="${upstream}",reason="${reason}"`;
    this.rejected.set(key, (this.rejected.get(key) ?? 0) + 1);
  }

  snapshot(): CounterSnapshot {
    const queries: [number, number, number][] = [];
    (["udp", "tcp"] as const).forEach((transport, index) => {
      this.queries[transport].forEach((count, type) => {
        if (count > 0) queries.push([index, type, count]);
      });
    });
    const responses: [number, number][] = [];
    this.responses.forEach((count, rcode) => {
      if (count > 0) responses.push([rcode, count]);
    });
    return { queries, responses, cacheHits: this.cacheHits, dropped: this.dropped, udpErrors: this.udpErrors };
  }

  render(extra: { cacheEntries: number; workers?: WorkerCounters }): string {
    const others = extra.workers?.snapshots ?? [];
    const queries = { udp: Float64Array.from(this.queries.udp), tcp: Float64Array.from(this.queries.tcp) };
    const responses = Float64Array.from(this.responses);
    let cacheHits = this.cacheHits;
    let dropped = this.dropped;
    let udpErrors = this.udpErrors;
    for (const other of others) {
      for (const [transport, type, count] of other.queries) queries[transport === 0 ? "udp" : "tcp"][type]! += count;
      for (const [rcode, count] of other.responses) responses[rcode]! += count;
      cacheHits += other.cacheHits;
      dropped += other.dropped;
      udpErrors += other.udpErrors;
    }
    const lines: string[] = [];
    const family = (name: string, type: string, help: string) =>
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

    family("airstrap_dns_queries_total", "counter", "Queries received, by query type and transport.");
    for (const transport of ["udp", "tcp"] as const) {
      queries[transport].forEach((count, type) => {
        if (count > 0) {
          lines.push(
            `airstrap_dns_queries_total{type="${TYPE_NAMES[type] ?? `TYPE${type}`}",transport="${transport}"} ${count}`,
          );
        }
      });
    }
    family("airstrap_dns_responses_total", "counter", "Responses sent, by rcode.");
    responses.forEach((count, rcode) => {
      if (count > 0)
        lines.push(`airstrap_dns_responses_total{rcode="${RCODE_NAMES[rcode] ?? `RCODE${rcode}`}"} ${count}`);
    });
    family("airstrap_dns_cache_hits_total", "counter", "Forwarded questions answered from the cache.");
    lines.push(`airstrap_dns_cache_hits_total ${cacheHits}`);
    family("airstrap_dns_cache_misses_total", "counter", "Forwarded questions that went to an upstream.");
    lines.push(`airstrap_dns_cache_misses_total ${this.cacheMisses}`);
    family("airstrap_dns_cache_entries", "gauge", "Answers held in the cache.");
    lines.push(`airstrap_dns_cache_entries ${extra.cacheEntries}`);
    family("airstrap_dns_upstream_latency_seconds", "histogram", "Time until an upstream answered.");
    for (const [upstream, histogram] of this.latency) {
      LATENCY_BUCKETS.forEach((bound, i) => {
        lines.push(
          `airstrap_dns_upstream_latency_seconds_bucket{upstream="${upstream}",le="${bound}"} ${histogram.buckets[i]}`,
        );
      });
      lines.push(`airstrap_dns_upstream_latency_seconds_bucket{upstream="${upstream}",le="+Inf"} ${histogram.count}`);
      lines.push(`airstrap_dns_upstream_latency_seconds_sum{upstream="${upstream}"} ${histogram.sum}`);
      lines.push(`airstrap_dns_upstream_latency_seconds_count{upstream="${upstream}"} ${histogram.count}`);
    }
    family("airstrap_dns_upstream_failures_total", "counter", "Upstream exchanges that timed out or failed.");
    for (const [upstream, count] of this.failures)
      lines.push(`airstrap_dns_upstream_failures_total{upstream="${upstream}"} ${count}`);
    family(
      "airstrap_dns_upstream_rejected_total",
      "counter",
      "Upstream messages ignored (wrong id or question, malformed).",
    );
    for (const [labels, count] of this.rejected) lines.push(`airstrap_dns_upstream_rejected_total{${labels}} ${count}`);
    family("airstrap_dns_loops_total", "counter", "Queries recognised as our own forwarded queries coming back.");
    lines.push(`airstrap_dns_loops_total ${this.loops}`);
    family("airstrap_dns_dropped_total", "counter", "Messages dropped without an answer (not queries, or too short).");
    lines.push(`airstrap_dns_dropped_total ${dropped}`);
    family(
      "airstrap_dns_udp_errors_total",
      "counter",
      "Errors a UDP socket reported after binding (a reply not sent).",
    );
    lines.push(`airstrap_dns_udp_errors_total ${udpErrors}`);
    family("airstrap_dns_reloads_total", "counter", "Configuration reloads applied.");
    lines.push(`airstrap_dns_reloads_total ${this.reloads}`);
    family("airstrap_dns_processes", "gauge", "Processes answering UDP queries, the primary included.");
    lines.push(`airstrap_dns_processes ${extra.workers?.processes ?? 1}`);
    family("airstrap_dns_worker_restarts_total", "counter", "Worker processes started again after one exited.");
    lines.push(`airstrap_dns_worker_restarts_total ${extra.workers?.restarts ?? 0}`);
    return `${lines.join("\n")}\n`;
  }
}

/** One snapshot holding the sum of several: what exited workers counted, kept so totals never go back. */
export function sumSnapshots(snapshots: CounterSnapshot[]): CounterSnapshot {
  const queries = new Map<string, [number, number, number]>();
  const responses = new Map<number, [number, number]>();
  let cacheHits = 0;
  let dropped = 0;
  let udpErrors = 0;
  for (const snapshot of snapshots) {
    for (const [transport, type, count] of snapshot.queries) {
      const entry = queries.get(`${transport}/${type}`) ?? [transport, type, 0];
      entry[2] += count;
      queries.set(`${transport}/${type}`, entry);
    }
    for (const [rcode, count] of snapshot.responses) {
      const entry = responses.get(rcode) ?? [rcode, 0];
      entry[1] += count;
      responses.set(rcode, entry);
    }
    cacheHits += snapshot.cacheHits;
    dropped += snapshot.dropped;
    udpErrors += snapshot.udpErrors;
  }
  return { queries: [...queries.values()], responses: [...responses.values()], cacheHits, dropped, udpErrors };
}
