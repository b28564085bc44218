import { RCODE_NAMES, TYPE_NAMES } from "./wire.js";

/** Counters of the DNS server, rendered in the Prometheus text format. Cheap to bump on the hot path. */

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

interface Histogram {
  buckets: number[];
  sum: number;
  count: number;
}

export type Transport = "udp" | "tcp";

export class DnsMetrics {
  private readonly queries = { udp: new Float64Array(65536), tcp: new Float64Array(65536) };
  private readonly responses = new Float64Array(4096);
  cacheHits = 0;
  cacheMisses = 0;
  loops = 0;
  reloads = 0;
  dropped = 0;
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

  render(extra: { cacheEntries: number }): string {
    const lines: string[] = [];
    const family = (name: string, type: string, help: string) =>
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

    family("airstrap_dns_queries_total", "counter", "Queries received, by query type and transport.");
    for (const transport of ["udp", "tcp"] as const) {
      this.queries[transport].forEach((count, type) => {
        if (count > 0) {
          lines.push(
            `airstrap_dns_queries_total{type="${TYPE_NAMES[type] ?? `TYPE${type}`}",transport="${transport}"} ${count}`,
          );
        }
      });
    }
    family("airstrap_dns_responses_total", "counter", "Responses sent, by rcode.");
    this.responses.forEach((count, rcode) => {
      if (count > 0)
        lines.push(`airstrap_dns_responses_total{rcode="${RCODE_NAMES[rcode] ?? `RCODE${rcode}`}"} ${count}`);
    });
    family("airstrap_dns_cache_hits_total", "counter", "Forwarded questions answered from the cache.");
    lines.push(`airstrap_dns_cache_hits_total ${this.cacheHits}`);
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
    lines.push(`airstrap_dns_dropped_total ${this.dropped}`);
    family("airstrap_dns_reloads_total", "counter", "Configuration reloads applied.");
    lines.push(`airstrap_dns_reloads_total ${this.reloads}`);
    return `${lines.join("\n")}\n`;
  }
}
