import { stringify } from "yaml";
import type { Plan, PlannedHost } from "../plan/types.js";

/** Secrets a renderer may need; they never enter the plan. */
export interface RenderSecrets {
  token: string;
}

/**
 * The distro's config.yaml for one host: exactly the keys its role needs.
 * - primary server: token, tls-san, node identity, CIDRs (K3s: cluster-init to start embedded etcd)
 * - other servers: the same plus `server:` (the join URL through the node-local LB)
 * - agents: server, token, node identity, labels and taints
 */
export function renderDistroConfig(plan: Plan, host: PlannedHost, secrets: RenderSecrets): string {
  const config: Record<string, unknown> = {};
  if (!host.primary) config.server = plan.joinUrl;
  config.token = secrets.token;
  if (host.role === "server") {
    if (host.primary && plan.distro.name === "k3s") config["cluster-init"] = true;
    // The cluster FQDN is how every client reaches the API through the node-local LB.
    config["tls-san"] = [plan.clusterFqdn, host.fqdn, host.name, host.address];
    config["cluster-cidr"] = plan.network.podCIDR;
    config["service-cidr"] = plan.network.serviceCIDR;
  }
  config["node-name"] = host.name;
  config["node-ip"] = host.address;
  const labels = Object.entries(host.labels).sort(([a], [b]) => a.localeCompare(b));
  if (labels.length > 0) config["node-label"] = labels.map(([key, value]) => `${key}=${value}`);
  if (host.taints.length > 0) config["node-taint"] = host.taints;
  if (supportsDisablingDefaultRegistryEndpoint(plan.distro.version)) config["disable-default-registry-endpoint"] = true;
  const header = `# ${plan.distro.name} config for ${host.name} (${describeRole(host)}) of cluster ${plan.name}.\n# Written by airstrap generate; edit cluster.yaml instead and generate again.\n`;
  return header + stringify(config, { lineWidth: 0 });
}

function describeRole(host: PlannedHost): string {
  if (host.primary) return "primary server";
  return host.role === "server" ? "joining server" : "agent";
}

/**
 * `disable-default-registry-endpoint` exists from the January 2024 releases on
 * (v1.26.13, v1.27.10, v1.28.6, v1.29.1 and every later minor); older ones reject the key.
 */
export function supportsDisablingDefaultRegistryEndpoint(version: string): boolean {
  const match = version.match(/^v1\.(\d+)\.(\d+)\+/);
  if (!match) return false;
  const minor = Number(match[1]);
  const patch = Number(match[2]);
  const firstPatch: Record<number, number> = { 26: 13, 27: 10, 28: 6 };
  if (minor >= 29) return true;
  const needed = firstPatch[minor];
  return needed !== undefined && patch >= needed;
}
