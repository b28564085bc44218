import { availableParallelism } from "node:os";
import { OperatorError } from "../../errors.js";
import type { Endpoint } from "../../net/endpoint.js";
import type { Plan } from "../../plan/types.js";

/** The DNS server's configuration: what one node serves, where it listens, where it forwards. */

export type DnsEndpoint = Endpoint;

export type DnsRecordType = "A" | "AAAA" | "CNAME" | "SRV" | "TXT" | "PTR";

export interface DnsRecord {
  /** Absolute name, no trailing dot needed. */
  name: string;
  type: DnsRecordType;
  /** A/AAAA: address; CNAME/PTR: absolute target; SRV: "priority weight port target"; TXT: text. */
  value: string;
  ttl?: number;
}

export interface DnsConfig {
  /** Specific addresses to bind, UDP and TCP each (never assume 0.0.0.0:53 is free). */
  listen: DnsEndpoint[];
  /** Metrics (/metrics) and health (/healthz) over HTTP; absent = off. */
  http?: DnsEndpoint;
  /** The cluster's DNS domain; airstrap is authoritative for it. */
  domain: string;
  /** The record that resolves to "the node itself", e.g. edge-cluster.edge.lan. */
  clusterFqdn: string;
  /** The node this server runs on; addresses[0] is its configured (site) address. */
  node: { name: string; fqdn: string; addresses: string[] };
  /** Every host of the cluster: A/AAAA and PTR. */
  hosts: { fqdn: string; address: string }[];
  /** Extra records (absolute names and targets). */
  records: DnsRecord[];
  /** Forwarders, tried in order; empty = names outside our zones are REFUSED. */
  upstreams: DnsEndpoint[];
  /** Clients outside these networks are REFUSED. */
  allowedNetworks: string[];
  /** TTL of records that do not carry their own. */
  ttl: number;
  /** SOA minimum and SOA TTL: how long resolvers cache our NXDOMAIN/NODATA (RFC 2308). */
  negativeTtl: number;
  /** How long one upstream gets before the next is tried. */
  upstreamTimeoutMs: number;
  /** Entries in the cache of forwarded answers. */
  cacheEntries: number;
  /** RFC 7766: idle TCP connections are closed after this. */
  tcpIdleTimeoutMs: number;
}

export const DNS_DEFAULTS = {
  ttl: 60,
  negativeTtl: 30,
  upstreamTimeoutMs: 1500,
  cacheEntries: 10_000,
  tcpIdleTimeoutMs: 10_000,
} as const;

/** Makes a manifest-style record name absolute: relative to the domain unless it ends with "." ("@" = the domain). */
export function absoluteName(name: string, domain: string): string {
  const lower = name.toLowerCase();
  if (lower === "@") return domain;
  if (lower.endsWith(".")) return lower.slice(0, -1);
  return `${lower}.${domain}`;
}

/** What a node's server needs to know from outside the plan. */
export interface NodeServeOptions {
  /** Override where to listen (default: the node's address on the plan's DNS port). */
  listen?: DnsEndpoint[];
  http?: DnsEndpoint;
  /** Processes answering UDP, this one included (default: defaultDnsWorkers()). */
  workers?: number;
}

/**
 * Processes answering UDP by default: one per CPU, at most 4. One on a one-CPU machine (no
 * worker at all); the cap keeps memory in check (each process is about 70 MB) on big nodes.
 */
export function defaultDnsWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/** The plan as seen from one node. Pure. */
export function dnsConfigFromPlan(plan: Plan, nodeName: string, options: NodeServeOptions = {}): DnsConfig {
  const host = plan.hosts.find((candidate) => candidate.name === nodeName);
  if (host === undefined) {
    throw new OperatorError(`node ${nodeName} is not a host of cluster ${plan.name}`, {
      hint: `--node is one of: ${plan.hosts.map((h) => h.name).join(", ")}`,
    });
  }
  const listen = options.listen ?? [{ address: host.address, port: plan.dns.port }];
  // Other specific addresses we listen on are the node's too (another interface, a dedicated IP).
  const extra = listen
    .map((l) => l.address)
    .filter((address) => !isLoopbackOrUnspecified(address) && address !== host.address);
  return {
    listen,
    ...(options.http ? { http: options.http } : {}),
    domain: plan.domain,
    clusterFqdn: plan.clusterFqdn,
    node: { name: host.name, fqdn: host.fqdn, addresses: [host.address, ...new Set(extra)] },
    hosts: plan.hosts.map((h) => ({ fqdn: h.fqdn, address: h.address })),
    records: plan.dns.records.map((r) => ({ name: r.name, type: r.type, value: r.value, ttl: r.ttl })),
    upstreams: plan.dns.upstreams,
    allowedNetworks: plan.dns.allowedNetworks,
    ...DNS_DEFAULTS,
  };
}

function isLoopbackOrUnspecified(address: string): boolean {
  return address.startsWith("127.") || address === "::1" || address === "0.0.0.0" || address === "::";
}
