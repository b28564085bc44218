import http from "node:http";
import type { Events } from "../../events.js";
import type { DashboardNode } from "./config.js";
import { metricSum, type NodeSample } from "./node-panel.js";

/**
 * Asks every node's DNS and load balancer for /healthz and /metrics, each interval, and emits
 * what it found as a `node.sample` event: the page folds those like any other event, and the run
 * log keeps them. One probe round at a time; a node that does not answer is down, not an error.
 */
export function probeNodes(nodes: DashboardNode[], intervalMs: number, events: Events): () => void {
  if (nodes.length === 0) return () => {};
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const round = async () => {
    const samples = await Promise.all(nodes.map(sampleNode));
    if (stopped) return;
    for (const sample of samples)
      events.emit({
        level: "debug",
        kind: "node.sample",
        host: sample.host,
        message: `services of ${sample.host} probed`,
        detail: { ...sample },
      });
    timer = setTimeout(round, intervalMs);
  };
  void round();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

const TIMEOUT_MS = 2000;

async function sampleNode(node: DashboardNode): Promise<NodeSample> {
  const sample: NodeSample = { host: node.host, at: Date.now() };
  if (node.dns !== undefined) {
    const [health, metrics] = await Promise.all([get(`${node.dns}/healthz`), get(`${node.dns}/metrics`)]);
    sample.dnsUp = health?.status === 200;
    const queries = metrics?.status === 200 ? metricSum(metrics.body, "airstrap_dns_queries_total") : undefined;
    if (queries !== undefined) sample.dnsQueries = queries;
  }
  if (node.lb !== undefined) {
    const [health, metrics] = await Promise.all([get(`${node.lb}/healthz`), get(`${node.lb}/metrics`)]);
    // 503 is an answer too: the balancer is up, some listener has no healthy backend.
    sample.lbUp = health !== undefined && (health.status === 200 || health.status === 503);
    const accepted =
      metrics?.status === 200 ? metricSum(metrics.body, "airstrap_lb_listener_accepted_total") : undefined;
    if (accepted !== undefined) sample.lbAccepted = accepted;
    if (health !== undefined && sample.lbUp) sample.backends = backendsOf(health.body);
  }
  return sample;
}

function backendsOf(body: string): NodeSample["backends"] {
  try {
    const report = JSON.parse(body) as {
      listeners?: Array<{ name: string; backends: Array<{ name: string; state: string }> }>;
    };
    return (report.listeners ?? []).flatMap((l) =>
      l.backends.map((b) => ({ listener: l.name, name: b.name, state: b.state })),
    );
  } catch {
    return [];
  }
}

function get(url: string): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const request = http.get(url, { timeout: TIMEOUT_MS, agent: false }, (response) => {
      let body = "";
      response.setEncoding("utf8").on("data", (chunk: string) => {
        if (body.length < 1_000_000) body += chunk;
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      response.on("error", () => resolve(undefined));
    });
    request.on("timeout", () => request.destroy());
    request.on("error", () => resolve(undefined));
  });
}
