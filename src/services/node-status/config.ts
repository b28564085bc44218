import type { Endpoint } from "../../net/endpoint.js";
import type { Plan } from "../../plan/types.js";

/**
 * The node's read-only status listener: the health and metrics of its DNS server and load
 * balancer, on the node's site address, for the bootstrap machine's status page (and a site's
 * Prometheus). Only clients in `allowedNetworks` are answered.
 */
export interface NodeStatusConfig {
  listen: Endpoint;
  /** CIDR networks whose clients may read; every other client gets 403. */
  allowedNetworks: string[];
}

export const NODE_STATUS_PORT = 9155;

const LOOPBACK = ["127.0.0.0/8", "::1/128"];

/**
 * Pure: on the node's own address, readable from the site's networks (the same list that may ask
 * its DNS to recurse), the bootstrap machine and the node itself.
 */
export function nodeStatusConfigFromPlan(plan: Plan, nodeName: string, listen?: Endpoint): NodeStatusConfig {
  const host = plan.hosts.find((h) => h.name === nodeName);
  if (host === undefined) throw new Error(`node status: no host ${nodeName} in the plan`);
  const bootstrap =
    plan.bootstrapAddress === undefined
      ? []
      : [`${plan.bootstrapAddress}/${plan.bootstrapAddress.includes(":") ? 128 : 32}`];
  return {
    listen: listen ?? { address: host.address, port: NODE_STATUS_PORT },
    allowedNetworks: [...new Set([...plan.dns.allowedNetworks, ...bootstrap, ...LOOPBACK])],
  };
}
