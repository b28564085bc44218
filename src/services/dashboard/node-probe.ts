import type { Events } from "../../events.js";
import { requestBuffer } from "../../net/http-client.js";
import type { DashboardNode } from "./config.js";
import { metricSamples, metricSum, type NodeSample } from "./node-panel.js";

/**
 * Asks every node's status listener (`airstrap node`: /healthz and /metrics of its DNS and load
 * balancer) and registry replica, each interval, and emits what it found as a `node.sample`
 * event: the page folds those like any other event, and the run log keeps them. One probe round
 * at a time, each request bounded by a 2 s timeout; a node that does not answer is down, not an error.
 */
export interface ProbeOptions {
  intervalMs: number;
  /** PEM of the site CA, which signed every registry replica's certificate. */
  registryCa?: string;
}

/** A replica's tags change rarely and cost a request per repository: read them every few rounds. */
const TAG_ROUNDS = 6;
const MAX_REPOSITORIES = 100;
const MAX_TAGS = 200;
export const PROBE_TIMEOUT_MS = 2000;
const TIMEOUTS = { connectTimeoutMs: PROBE_TIMEOUT_MS, idleTimeoutMs: PROBE_TIMEOUT_MS };
const MAX_BODY = 1_000_000;

export function probeNodes(nodes: DashboardNode[], options: ProbeOptions, events: Events): () => void {
  if (nodes.length === 0) return () => {};
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let round = 0;
  // Tags last sent per node: a sample carries them only when they changed, so the run log stays small.
  const lastTags = new Map<string, string>();
  const wasUp = new Map<string, boolean>();
  const probe = async () => {
    const started = Date.now();
    const samples = await Promise.all(
      nodes.map((node) => sampleNode(node, options, round % TAG_ROUNDS === 0 || wasUp.get(node.host) !== true)),
    );
    round += 1;
    if (stopped) return;
    for (const sample of samples) {
      if (sample.registryUp !== undefined) wasUp.set(sample.host, sample.registryUp);
      if (sample.registryTags !== undefined) {
        const key = JSON.stringify([sample.registryTags, sample.registryTagsMore]);
        if (lastTags.get(sample.host) === key) {
          delete sample.registryTags;
          delete sample.registryTagsMore;
        } else lastTags.set(sample.host, key);
      }
      events.emit({
        level: "debug",
        kind: "node.sample",
        host: sample.host,
        message: `services of ${sample.host} probed`,
        detail: { ...sample },
      });
    }
    // Rounds start an interval apart, however long one took (a dead node costs a connect timeout):
    // a change reaches the page within one interval plus one timeout.
    timer = setTimeout(probe, Math.max(0, options.intervalMs - (Date.now() - started)));
  };
  void probe();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

async function sampleNode(node: DashboardNode, options: ProbeOptions, readTags: boolean): Promise<NodeSample> {
  const sample: NodeSample = { host: node.host, at: Date.now() };
  const [status, registry] = await Promise.all([
    node.status === undefined ? undefined : sampleStatus(node.status),
    node.registry === undefined ? undefined : sampleRegistry(node.registry, options.registryCa, readTags),
  ]);
  return { ...sample, ...status, ...registry };
}

type StatusPart = Pick<NodeSample, "servicesUp" | "dnsUp" | "dnsQueries" | "lbUp" | "lbAccepted" | "backends">;

async function sampleStatus(base: string): Promise<StatusPart> {
  const [health, metrics] = await Promise.all([get(`${base}/healthz`), get(`${base}/metrics`)]);
  // 503 is an answer too: the node is up, some part of it is not healthy.
  if (health === undefined || (health.status !== 200 && health.status !== 503)) return { servicesUp: false };
  const report = parseHealth(health.body);
  if (report === undefined) return { servicesUp: false };
  const part: StatusPart = { servicesUp: true, dnsUp: report.dns, lbUp: true, backends: report.backends };
  if (metrics?.status !== 200) return part;
  const queries = metricSum(metrics.body, "airstrap_dns_queries_total");
  const accepted = metricSum(metrics.body, "airstrap_lb_listener_accepted_total");
  const perBackend = metricSamples(metrics.body, "airstrap_lb_backend_connections_total");
  for (const backend of part.backends ?? []) {
    const total = perBackend.find((s) => s.labels.listener === backend.listener && s.labels.backend === backend.name);
    if (total !== undefined) backend.connections = total.value;
  }
  return {
    ...part,
    ...(queries === undefined ? {} : { dnsQueries: queries }),
    ...(accepted === undefined ? {} : { lbAccepted: accepted }),
  };
}

function parseHealth(body: string): { dns: boolean; backends: NonNullable<NodeSample["backends"]> } | undefined {
  try {
    const report = JSON.parse(body) as {
      dns?: { serving?: boolean };
      lb?: { listeners?: Array<{ name: string; backends: Array<{ name: string; state: string }> }> };
    };
    return {
      dns: report.dns?.serving === true,
      backends: (report.lb?.listeners ?? []).flatMap((l) =>
        l.backends.map((b) => ({ listener: l.name, name: b.name, state: b.state })),
      ),
    };
  } catch {
    return undefined;
  }
}

type RegistryPart = Pick<NodeSample, "registryUp" | "registryTags" | "registryTagsMore">;

/** The replica's /healthz, and now and then its tags through the catalog (anonymous reads from the site). */
async function sampleRegistry(base: string, ca: string | undefined, readTags: boolean): Promise<RegistryPart> {
  const health = await get(`${base}/healthz`, ca);
  if (health?.status !== 200) return { registryUp: false };
  if (!readTags) return { registryUp: true };
  const catalog = await getJson<{ repositories?: string[] }>(`${base}/v2/_catalog?n=${MAX_REPOSITORIES}`, ca);
  if (catalog === undefined) return { registryUp: true };
  const tags: string[] = [];
  let more = 0;
  for (const repository of catalog.repositories ?? []) {
    const list = await getJson<{ tags?: string[] | null }>(`${base}/v2/${repository}/tags/list`, ca);
    for (const tag of list?.tags ?? []) {
      if (tags.length < MAX_TAGS) tags.push(`${repository}:${tag}`);
      else more += 1;
    }
  }
  return { registryUp: true, registryTags: tags.sort(), ...(more > 0 ? { registryTagsMore: more } : {}) };
}

async function getJson<T>(url: string, ca?: string): Promise<T | undefined> {
  const response = await get(url, ca);
  if (response?.status !== 200) return undefined;
  try {
    return JSON.parse(response.body) as T;
  } catch {
    return undefined;
  }
}

async function get(url: string, ca?: string): Promise<{ status: number; body: string } | undefined> {
  try {
    const response = await requestBuffer(url, { ...TIMEOUTS, maxBodyBytes: MAX_BODY, ...(ca ? { ca } : {}) });
    return { status: response.status, body: response.body.toString("utf8") };
  } catch {
    return undefined;
  }
}
