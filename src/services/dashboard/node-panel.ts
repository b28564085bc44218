/**
 * A node's services as the page draws them: what its status listener (DNS, load balancer) and
 * registry replica said at each probe (a `node.sample` event), turned into lines of words and
 * small time series of rates. Pure: the probe measures, this folds.
 */
export interface NodeSample {
  host: string;
  /** Milliseconds since the epoch. */
  at: number;
  /** Undefined: nothing of this node was asked; false: its status listener did not answer. */
  servicesUp?: boolean;
  dnsUp?: boolean;
  /** airstrap_dns_queries_total summed over types and transports. */
  dnsQueries?: number;
  lbUp?: boolean;
  /** airstrap_lb_listener_accepted_total summed over listeners. */
  lbAccepted?: number;
  /** Each backend of each listener; `connections`: airstrap_lb_backend_connections_total. */
  backends?: Array<{ listener: string; name: string; state: string; connections?: number }>;
  /** Undefined: this node runs no registry replica. */
  registryUp?: boolean;
  /** `repository:tag`, sorted; only in a sample where they were read and changed. */
  registryTags?: string[];
  /** Tags beyond the ones listed. */
  registryTagsMore?: number;
}

export interface PanelLine {
  /** ok: working; bad: was seen working, or answers but fails; waiting: never answered yet. */
  state: "ok" | "bad" | "waiting";
  text: string;
}

export interface NodePanel {
  host: string;
  lines: PanelLine[];
  series: { labels: string[]; times: number[]; values: number[][] };
  /** The replica's tags as last read (kept between the samples that do not carry them). */
  tags?: { list: string[]; more: number };
  /** Whether the node's services ever answered: before that, silence is waiting, not failure. */
  answered: boolean;
  last: NodeSample;
}

/** Points kept per chart: at one probe every few seconds, the last few minutes. */
export const SERIES_POINTS = 120;

const LABELS = ["DNS queries/s", "LB connections/s"];

export function foldSample(panels: NodePanel[], sample: NodeSample): NodePanel[] {
  const index = panels.findIndex((p) => p.host === sample.host);
  const before = panels[index];
  const answered = (before?.answered ?? false) || sample.servicesUp === true || sample.registryUp === true;
  const tags =
    sample.registryTags !== undefined
      ? { list: sample.registryTags, more: sample.registryTagsMore ?? 0 }
      : before?.tags;
  const panel: NodePanel = {
    host: sample.host,
    lines: describe(sample, before?.last, answered, tags),
    series: extend(before, sample),
    ...(tags === undefined ? {} : { tags }),
    answered,
    last: sample,
  };
  return index < 0 ? [...panels, panel] : panels.map((p, i) => (i === index ? panel : p));
}

function describe(
  sample: NodeSample,
  previous: NodeSample | undefined,
  answered: boolean,
  tags: NodePanel["tags"],
): PanelLine[] {
  const silent = (what: string): PanelLine =>
    answered
      ? { state: "bad", text: `${what} not answering` }
      : { state: "waiting", text: `${what} not answering yet` };
  const lines: PanelLine[] = [];
  if (sample.servicesUp === false) lines.push(silent("node services (DNS, load balancer)"));
  if (sample.dnsUp !== undefined)
    lines.push(sample.dnsUp ? { state: "ok", text: "DNS answering" } : { state: "bad", text: "DNS not serving" });
  if (sample.lbUp === false) lines.push(silent("load balancer"));
  const seconds = previous === undefined ? 0 : (sample.at - previous.at) / 1000;
  for (const backend of sample.backends ?? []) {
    const then = previous?.backends?.find((b) => b.listener === backend.listener && b.name === backend.name);
    const rate = perSecond(backend.connections, then?.connections, seconds);
    lines.push({
      state: backend.state === "up" ? "ok" : "bad",
      text: `LB ${backend.listener} → ${backend.name}: ${backend.state}${backend.connections === undefined ? "" : `, ${formatRate(rate)} connections/s`}`,
    });
  }
  if (sample.registryUp === false) lines.push(silent("registry replica"));
  if (sample.registryUp === true) {
    const count =
      tags === undefined ? "" : `, ${tags.list.length + tags.more} tag${tags.list.length + tags.more === 1 ? "" : "s"}`;
    lines.push({ state: "ok", text: `registry replica up${count}` });
  }
  return lines;
}

function formatRate(rate: number): string {
  return rate >= 10 ? rate.toFixed(0) : rate.toFixed(1);
}

function perSecond(now: number | undefined, then: number | undefined, seconds: number): number {
  return now === undefined || then === undefined || seconds <= 0 || now < then ? 0 : (now - then) / seconds;
}

/** Seconds as the chart's x axis (uPlot's unit); rates from the counters' growth since the last probe. */
function extend(before: NodePanel | undefined, sample: NodeSample): NodePanel["series"] {
  const times = [...(before?.series.times ?? []), sample.at / 1000];
  const previous = before?.last;
  const seconds = previous === undefined ? 0 : (sample.at - previous.at) / 1000;
  const points = [
    perSecond(sample.dnsQueries, previous?.dnsQueries, seconds),
    perSecond(sample.lbAccepted, previous?.lbAccepted, seconds),
  ];
  const values = LABELS.map((_, i) => [...(before?.series.values[i] ?? []), points[i] as number]);
  const drop = Math.max(0, times.length - SERIES_POINTS);
  return { labels: LABELS, times: times.slice(drop), values: values.map((v) => v.slice(drop)) };
}

/** Every sample of one metric in Prometheus text: its labels and value. */
export function metricSamples(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const samples: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== " " && rest[0] !== "{") continue;
    const value = Number(rest.slice(rest.lastIndexOf(" ") + 1));
    if (!Number.isFinite(value)) continue;
    const labels: Record<string, string> = {};
    const inside = rest[0] === "{" ? rest.slice(1, rest.lastIndexOf("}")) : "";
    for (const match of inside.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[match[1] as string] = (match[2] as string).replace(/\\(.)/g, "$1");
    samples.push({ labels, value });
  }
  return samples;
}

/** The sum of every sample of one metric (labels ignored); undefined when absent. */
export function metricSum(text: string, name: string): number | undefined {
  const samples = metricSamples(text, name);
  return samples.length === 0 ? undefined : samples.reduce((sum, s) => sum + s.value, 0);
}
