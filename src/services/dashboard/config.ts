import { type Endpoint, formatEndpoint } from "../../net/endpoint.js";
import type { Plan } from "../../plan/types.js";
import { NODE_STATUS_PORT } from "../node-status/config.js";

/** The status page's configuration: where it listens, who may look, which hosts the site has. */

export interface DashboardHost {
  name: string;
  role: string;
  address: string;
  /** Lower-case, colon form: how boot events (DHCP, boot HTTP) name a machine. */
  mac?: string;
}

/** A stage of the site repository, as the manifest lists it (spec.stages): the page's rows keep this order. */
export interface DashboardStage {
  name: string;
  dependsOn: string[];
}

/** Where a node's services answer, as base URLs: its status listener (DNS and LB) and its registry replica. */
export interface DashboardNode {
  host: string;
  /** `http://<address>:9155`: airstrap node's read-only /healthz and /metrics. */
  status?: string;
  /** `https://<address>:<registry port>`: the replica's /healthz and, read anonymously, its catalog. */
  registry?: string;
}

export interface DashboardConfig {
  listen: Endpoint;
  /** Required from every client when set (the site-network listener); loopback needs none. */
  token?: string;
  /** The cluster's name, shown as the page's title. */
  site: string;
  hosts: DashboardHost[];
  /** The manifest's GitOps stages, in order; none when it has no spec.stages. */
  stages: DashboardStage[];
  /** Longest gap between two state pushes to a browser; changes in between are merged. */
  pushIntervalMs: number;
  /** Nodes whose services the page probes and draws; none: the section says so. */
  nodes: DashboardNode[];
  /** Time between two probes of every node. */
  probeIntervalMs: number;
  /** PEM of the site CA, which the registry replicas' certificates chain to. */
  registryCa?: string;
  /** Events kept for a reconnecting browser (older ones it gets as state only); read at start. */
  journalSize: number;
}

export const DASHBOARD_PORT = 8430;

export const DASHBOARD_DEFAULTS = { pushIntervalMs: 250, journalSize: 2000, probeIntervalMs: 5000 } as const;

/** Every host of the plan is probed: its status listener, and its registry replica where it runs one. */
export function dashboardConfig(plan: Plan, listen: Endpoint, token?: string, registryCa?: string): DashboardConfig {
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
    stages: plan.stages.map((stage) => ({ name: stage.name, dependsOn: [...stage.dependsOn] })),
    nodes: plan.hosts.map((h) => {
      const base = (scheme: string, port: number) => `${scheme}://${formatEndpoint({ address: h.address, port })}`;
      return {
        host: h.name,
        status: base("http", NODE_STATUS_PORT),
        ...(h.runsRegistry ? { registry: base("https", plan.registry.port) } : {}),
      };
    }),
    ...(registryCa === undefined ? {} : { registryCa }),
    ...DASHBOARD_DEFAULTS,
  };
}
