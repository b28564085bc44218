/**
 * A node's services as the page draws them: what its DNS and load balancer said on their
 * /healthz and /metrics at each probe (a `node.sample` event), turned into lines of words and
 * small time series of rates. Pure: the probe measures, this folds.
 */
export interface NodeSample {
  host: string;
  /** Milliseconds since the epoch. */
  at: number;
  /** Undefined: this node has no DNS to probe; false: it did not answer /healthz. */
  dnsUp?: boolean;
  /** airstrap_dns_queries_total summed over types and transports. */
  dnsQueries?: number;
  lbUp?: boolean;
  /** airstrap_lb_listener_accepted_total summed over listeners. */
  lbAccepted?: number;
  backends?: Array<{ listener: string; name: string; state: string }>;
}

export interface NodePanel {
  host: string;
  lines: Array<{ ok: boolean; text: string }>;
  series: { labels: string[]; times: number[]; values: number[][] };
  last: NodeSample;
}

/** Points kept per chart: at one probe every few seconds, the last few minutes. */
export const SERIES_POINTS = 120;

const LABELS = ["DNS queries/s", "LB connections/s"];

export function foldSample(panels: NodePanel[], sample: NodeSample): NodePanel[] {
  const index = panels.findIndex((p) => p.host === sample.host);
  const before = panels[index];
  const panel: NodePanel = {
    host: sample.host,
    lines: describe(sample),
    series: extend(before, sample),
    last: sample,
  };
  return index < 0 ? [...panels, panel] : panels.map((p, i) => (i === index ? panel : p));
}

function describe(sample: NodeSample): NodePanel["lines"] {
  const lines: NodePanel["lines"] = [];
  if (sample.dnsUp !== undefined)
    lines.push({ ok: sample.dnsUp, text: sample.dnsUp ? "DNS answering" : "DNS not answering" });
  if (sample.lbUp !== undefined && !sample.lbUp) lines.push({ ok: false, text: "load balancer not answering" });
  for (const backend of sample.backends ?? [])
    lines.push({ ok: backend.state === "up", text: `LB ${backend.listener} → ${backend.name}: ${backend.state}` });
  return lines;
}

/** Seconds as the chart's x axis (uPlot's unit); rates from the counters' growth since the last probe. */
function extend(before: NodePanel | undefined, sample: NodeSample): NodePanel["series"] {
  const times = [...(before?.series.times ?? []), sample.at / 1000];
  const previous = before?.last;
  const seconds = previous === undefined ? 0 : (sample.at - previous.at) / 1000;
  const rate = (now: number | undefined, then: number | undefined) =>
    now === undefined || then === undefined || seconds <= 0 || now < then ? 0 : (now - then) / seconds;
  const points = [rate(sample.dnsQueries, previous?.dnsQueries), rate(sample.lbAccepted, previous?.lbAccepted)];
  const values = LABELS.map((_, i) => [...(before?.series.values[i] ?? []), points[i] as number]);
  const drop = Math.max(0, times.length - SERIES_POINTS);
  return { labels: LABELS, times: times.slice(drop), values: values.map((v) => v.slice(drop)) };
}

/** The sum of every sample of one metric in Prometheus text (labels ignored); undefined when absent. */
export function metricSum(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== " " && rest[0] !== "{") continue;
    const value = Number(rest.slice(rest.lastIndexOf(" ") + 1));
    if (Number.isFinite(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}
