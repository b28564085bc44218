import type { DnsConfig } from "../../../src/services/dns/config.js";

/** A small site as one node (k8s-server-01) sees it; listens on a loopback address, any free port. */
export function siteConfig(overrides: Partial<DnsConfig> = {}): DnsConfig {
  return {
    listen: [{ address: "127.0.0.61", port: 0 }],
    domain: "edge.lan",
    clusterFqdn: "edge-cluster.edge.lan",
    node: { name: "k8s-server-01", fqdn: "k8s-server-01.edge.lan", addresses: ["10.77.0.11"] },
    hosts: [
      { fqdn: "k8s-server-01.edge.lan", address: "10.77.0.11" },
      { fqdn: "k8s-server-02.edge.lan", address: "10.77.0.12" },
      { fqdn: "k8s-agent-01.edge.lan", address: "10.77.0.21" },
      { fqdn: "k8s-agent-02.edge.lan", address: "fd00:77::21" },
    ],
    records: [
      { name: "git.edge.lan", type: "A", value: "10.77.0.20", ttl: 300 },
      { name: "git.edge.lan", type: "A", value: "10.77.0.30", ttl: 120 },
      { name: "*.apps.edge.lan", type: "CNAME", value: "edge-cluster.edge.lan" },
      { name: "static.apps.edge.lan", type: "A", value: "10.77.0.40" },
      { name: "deep.ent.edge.lan", type: "A", value: "10.77.0.41" },
      { name: "_ldap._tcp.edge.lan", type: "SRV", value: "10 5 389 git.edge.lan" },
      { name: "info.edge.lan", type: "TXT", value: "hello world" },
      { name: "www.edge.lan", type: "CNAME", value: "git.edge.lan" },
      { name: "loop1.edge.lan", type: "CNAME", value: "loop2.edge.lan" },
      { name: "loop2.edge.lan", type: "CNAME", value: "loop1.edge.lan" },
      { name: "dangling.edge.lan", type: "CNAME", value: "nothing.edge.lan" },
      ...Array.from({ length: 10 }, (_, i) => ({
        name: "mid.edge.lan",
        type: "TXT" as const,
        value: `${"m".repeat(50)} ${i}`,
      })),
      ...Array.from({ length: 40 }, (_, i) => ({
        name: "big.edge.lan",
        type: "TXT" as const,
        value: `${"x".repeat(40)} ${i}`,
      })),
    ],
    upstreams: [],
    allowedNetworks: ["127.0.0.0/8", "::1/128"],
    ttl: 60,
    negativeTtl: 30,
    upstreamTimeoutMs: 800,
    cacheEntries: 1000,
    tcpIdleTimeoutMs: 2000,
    ...overrides,
  };
}
