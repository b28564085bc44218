import type { ClusterManifest } from "../manifest/defaults.js";
import { formatEndpoint } from "../net/endpoint.js";
import { enclosingSiteNetwork } from "../net/ip.js";
import { AIRSTRAP_PATHS, DISTRO_PATHS } from "./distro-paths.js";
import { planPxe } from "./pxe.js";
import type { Plan, PlannedBootstrap, PlannedDns, PlannedFile, PlannedHost, PlanState } from "./types.js";

const DEFAULT_RECORD_TTL = 300;

/** Pure: the same manifest and state always give the same plan. */
export function planCluster(manifest: ClusterManifest, state: PlanState = {}): Plan {
  const clusterFqdn = `${manifest.clusterRecord}.${manifest.domain}`;
  const primaryName = choosePrimary(manifest, state);
  const registryHosts = new Set(manifest.registry.hosts);
  const hosts: PlannedHost[] = manifest.hosts.map((h) => ({
    name: h.name,
    fqdn: `${h.name}.${manifest.domain}`,
    address: h.address,
    role: h.role,
    primary: h.name === primaryName,
    ...(h.mac === undefined ? {} : { mac: h.mac }),
    ...(h.dataDisk === undefined ? {} : { dataDisk: h.dataDisk }),
    labels: h.labels,
    taints: h.taints,
    ssh: h.ssh,
    connection: h.connection,
    runsRegistry: registryHosts.has(h.name),
  }));
  const servers = hosts.filter((h) => h.role === "server");
  const lb = manifest.loadBalancer;
  const backendsOn = (port: number) => servers.map((s) => ({ host: s.name, address: s.address, port }));

  return {
    name: manifest.name,
    domain: manifest.domain,
    clusterRecord: manifest.clusterRecord,
    clusterFqdn,
    distro: manifest.distro,
    network: manifest.network,
    ...(manifest.bootstrapAddress === undefined
      ? {}
      : { bootstrapAddress: manifest.bootstrapAddress, bootstrap: planBootstrap(manifest, manifest.bootstrapAddress) }),
    hosts,
    joinOrder: {
      primary: primaryName,
      servers: servers.filter((s) => s.name !== primaryName).map((s) => s.name),
      agents: hosts.filter((h) => h.role === "agent").map((h) => h.name),
    },
    joinUrl: `https://${clusterFqdn}:${lb.joinPort}`,
    apiUrl: `https://${clusterFqdn}:${lb.apiPort}`,
    dns: planDns(manifest),
    loadBalancer: {
      listeners: [
        { name: "api", port: lb.apiPort, backendPort: lb.apiBackendPort, backends: backendsOn(lb.apiBackendPort) },
        { name: "join", port: lb.joinPort, backendPort: lb.joinBackendPort, backends: backendsOn(lb.joinBackendPort) },
      ],
    },
    registry: {
      port: manifest.registry.port,
      hosts: hosts.filter((h) => h.runsRegistry).map((h) => h.name),
      mirrors: manifest.registry.mirrors,
      endpoints: hosts.filter((h) => h.runsRegistry).map((h) => `https://${h.fqdn}:${manifest.registry.port}`),
    },
    artifacts: manifest.artifacts,
    files: Object.fromEntries(hosts.map((h) => [h.name, filesFor(manifest, h)])),
    stages: manifest.stages.map((s) => ({ name: s.name, path: s.path, dependsOn: s.dependsOn ?? [] })),
    ...(manifest.stages.length > 0 ? { gitops: manifest.gitops } : {}),
    ...(manifest.pxe === undefined ? {} : { pxe: planPxe(manifest.pxe, hosts, manifest.distro.arch) }),
  };
}

function planBootstrap(manifest: ClusterManifest, address: string): PlannedBootstrap {
  return {
    address,
    filesUrl: `http://${formatEndpoint({ address, port: manifest.bootstrapFilesPort })}`,
    registryUrl: `https://${formatEndpoint({ address, port: manifest.registry.port })}`,
    relay: manifest.bootstrapRelay,
  };
}

function choosePrimary(manifest: ClusterManifest, state: PlanState): string {
  const servers = manifest.hosts.filter((h) => h.role === "server");
  const kept = servers.find((s) => s.name === state.initializedPrimary);
  const chosen = kept ?? servers.find((s) => s.primary) ?? servers[0];
  // The manifest validator guarantees a server; a plan without one is a bug.
  if (!chosen) throw new Error("planCluster: manifest has no server");
  return chosen.name;
}

function planDns(manifest: ClusterManifest): PlannedDns {
  const absolute = (name: string) => {
    const lower = name.toLowerCase();
    if (lower === "@") return manifest.domain;
    if (lower.endsWith(".")) return lower.slice(0, -1);
    return `${lower}.${manifest.domain}`;
  };
  const siteAddresses = [
    ...manifest.hosts.map((h) => h.address),
    ...(manifest.bootstrapAddress ? [manifest.bootstrapAddress] : []),
  ];
  const allowed = manifest.dns.allowedNetworks ?? [
    ...new Set(siteAddresses.map(enclosingSiteNetwork)),
    "127.0.0.0/8",
    "::1/128",
  ];
  return {
    port: manifest.dns.port,
    upstreams: manifest.dns.upstreams.map(parseUpstream),
    allowedNetworks: allowed,
    workers: manifest.dns.workers,
    records: manifest.dns.records.map((r) => ({
      name: absolute(r.name),
      type: r.type,
      value: r.type === "CNAME" ? absolute(r.value) : r.type === "SRV" ? absoluteSrv(r.value, absolute) : r.value,
      ttl: r.ttl ?? DEFAULT_RECORD_TTL,
    })),
  };
}

function absoluteSrv(value: string, absolute: (name: string) => string): string {
  const [priority, weight, port, target] = value.split(" ");
  return `${priority} ${weight} ${port} ${absolute(target!)}`;
}

export function parseUpstream(text: string): { address: string; port: number } {
  const bracketed = text.match(/^\[([^\]]+)\](?::(\d+))?$/);
  if (bracketed) return { address: bracketed[1]!, port: bracketed[2] ? Number(bracketed[2]) : 53 };
  const v4 = text.match(/^([0-9.]+)(?::(\d+))?$/);
  if (v4) return { address: v4[1]!, port: v4[2] ? Number(v4[2]) : 53 };
  return { address: text, port: 53 };
}

function filesFor(manifest: ClusterManifest, host: { name: string }): PlannedFile[] {
  const distro = DISTRO_PATHS[manifest.distro.name];
  const files: PlannedFile[] = [
    { path: distro.config, mode: 0o600, kind: "distro-config" },
    { path: distro.registries, mode: 0o600, kind: "registries" },
    { path: AIRSTRAP_PATHS.plan, mode: 0o644, kind: "node-plan" },
    { path: AIRSTRAP_PATHS.nodeUnit, mode: 0o644, kind: "node-unit" },
  ];
  if (manifest.registry.hosts.includes(host.name))
    files.push({ path: AIRSTRAP_PATHS.registryUnit, mode: 0o644, kind: "registry-unit" });
  return files;
}
