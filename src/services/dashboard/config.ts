import type { Endpoint } from "../../net/endpoint.js";
import type { Plan } from "../../plan/types.js";

/** The status page's configuration: where it listens, who may look, which hosts the site has. */

export interface DashboardHost {
  name: string;
  role: string;
  address: string;
  /** Lower-case, colon form: how boot events (DHCP, boot HTTP) name a machine. */
  mac?: string;
}

/** Where a node's services answer /healthz and /metrics (`http://addr:port`), when they can be reached. */
export interface DashboardNode {
  host: string;
  dns?: string;
  lb?: string;
}

export interface DashboardConfig {
  listen: Endpoint;
  /** Required from every client when set (the site-network listener); loopback needs none. */
  token?: string;
  /** The cluster's name, shown as the page's title. */
  site: string;
  hosts: DashboardHost[];
  /** Longest gap between two state pushes to a browser; changes in between are merged. */
  pushIntervalMs: number;
  /** Nodes whose services the page probes and draws; none: the section says so. */
  nodes: DashboardNode[];
  /** Time between two probes of every node. */
  probeIntervalMs: number;
  /** Events kept for a reconnecting browser (older ones it gets as state only); read at start. */
  journalSize: number;
}

export const DASHBOARD_PORT = 8430;

export const DASHBOARD_DEFAULTS = { pushIntervalMs: 250, journalSize: 2000, probeIntervalMs: 5000 } as const;

export function dashboardConfig(plan: Plan, listen: Endpoint, token?: string): DashboardConfig {
  const pxeMac = new Map(plan.pxe?.hosts.map((h) => [h.name, h.mac]) ?? []);
  return {
    listen,
    ...(token === undefined ? {} : { token }),
    site: plan.name,
    hosts: plan.hosts.map((h) => {
      const mac = h.mac ?? pxeMac.get(h.name);
      return {
        name: h.name,
        role: h.primary ? "primary server" : h.role,
        address: h.address,
        ...(mac === undefined ? {} : { mac: mac.toLowerCase() }),
      };
    }),
    // Node services answer /healthz and /metrics on the node's loopback (airstrap node serve's
    // defaults), out of the bootstrap machine's reach: none is probed until they listen on the site network.
    nodes: [],
    ...DASHBOARD_DEFAULTS,
  };
}
