import type { Events } from "../../events.js";
import { formatEndpoint } from "../../net/endpoint.js";
import { type Network, networkContains, parseNetwork, unmapIPv4 } from "../../net/ip.js";
import { explainBindError } from "../bind-error.js";
import type { RunningService } from "../service.js";
import { nodeHealth } from "./answer.js";
import type { NodeStatusConfig } from "./config.js";
import { NodeStatusServer } from "./server.js";

/** What the listener reports on: the node's running DNS server and load balancer. */
export interface NodeStatusSources {
  dnsServing(): boolean;
  /** The DNS server's metrics, gathered fresh from every worker process. */
  dnsMetrics(): string | Promise<string>;
  lbHealth(): { healthy: boolean };
  lbMetrics(): string;
}

export type RunningNodeStatus = RunningService<NodeStatusConfig>;

/**
 * The node's status listener (see config.ts): GET /healthz (JSON: DNS serving, the load
 * balancer's listeners and backends; 503 when something is not healthy) and GET /metrics (both
 * services' Prometheus text), to clients of the allowed networks only. It reads; it changes nothing.
 */
export async function startNodeStatus(
  config: NodeStatusConfig,
  events: Events,
  sources: NodeStatusSources,
): Promise<RunningNodeStatus> {
  let networks = parseNetworks(config.allowedNetworks);
  let current = config;
  let answered = 0;
  const server = new NodeStatusServer({
    allowed: (remote) => {
      const address = unmapIPv4(remote);
      return networks.some((network) => networkContains(network, address));
    },
    health: () => {
      answered += 1;
      const health = nodeHealth(sources.dnsServing(), sources.lbHealth());
      return { healthy: health.healthy, json: JSON.stringify(health) };
    },
    metrics: async () => {
      answered += 1;
      return `${await sources.dnsMetrics()}${sources.lbMetrics()}`;
    },
  });
  let address: string;
  try {
    address = await server.listen(config.listen);
  } catch (error) {
    throw explainBindError(
      error,
      "the node status listener",
      formatEndpoint(config.listen),
      "--status-listen ADDR:PORT",
      "turn it off with --status-listen off",
    );
  }
  events.emit({
    level: "info",
    kind: "node-status.start",
    service: "node-status",
    message: `health and metrics (read-only) on http://${address} for ${config.allowedNetworks.join(", ")}`,
  });
  return {
    addresses: [address],
    ready: Promise.resolve(),
    async reload(next) {
      if (formatEndpoint(next.listen) !== formatEndpoint(current.listen))
        throw new Error("the node status listener cannot move while it runs; restart airstrap node");
      networks = parseNetworks(next.allowedNetworks);
      current = next;
    },
    metrics: () =>
      [
        "# HELP airstrap_node_status_requests_total Health and metrics requests the status listener answered.",
        "# TYPE airstrap_node_status_requests_total counter",
        `airstrap_node_status_requests_total ${answered}`,
        "",
      ].join("\n"),
    close: () => server.close(),
  };
}

function parseNetworks(texts: string[]): Network[] {
  return texts.map((text) => {
    const network = parseNetwork(text);
    if (network === undefined) throw new Error(`node status: not a CIDR network: ${text}`);
    return network;
  });
}
