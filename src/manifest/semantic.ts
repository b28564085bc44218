import { type Network, networkContains, networksOverlap, parseNetwork } from "../net/ip.js";
import { DISTRO_DEFAULTS } from "./defaults.js";
import type { Finding, Path } from "./diagnostics.js";
import { closestMatch } from "./did-you-mean.js";
import { asArray, asObject, asString, type Raw } from "./raw.js";
import { pxeFindings } from "./semantic-pxe.js";
import { stageFindings } from "./semantic-stages.js";

export type { Finding } from "./diagnostics.js";

/**
 * Checks that span several fields (duplicates, roles, overlaps, port collisions). Runs on the raw
 * document, defensively, so these findings are reported together with schema errors.
 */
export function semanticFindings(raw: unknown): Finding[] {
  const spec = asObject(asObject(raw)?.spec);
  if (!spec) return [];
  return [
    ...hostFindings(spec),
    ...distroFindings(spec),
    ...networkFindings(spec),
    ...portFindings(spec),
    ...dnsFindings(spec),
    ...registryFindings(spec),
    ...stageFindings(spec),
    ...pxeFindings(spec),
  ];
}

function hostFindings(spec: Raw): Finding[] {
  const findings: Finding[] = [];
  const hosts = asArray(spec.hosts);
  const seen = { name: new Map<string, number>(), address: new Map<string, number>(), mac: new Map<string, number>() };
  hosts.forEach((entry, index) => {
    const host = asObject(entry);
    if (!host) return;
    for (const field of ["name", "address", "mac"] as const) {
      const value = asString(host[field])?.toLowerCase();
      if (value === undefined) continue;
      const first = seen[field].get(value);
      if (first === undefined) seen[field].set(value, index);
      else
        findings.push({
          severity: "error",
          path: ["spec", "hosts", index, field],
          message: `duplicate host ${field} "${host[field]}": spec.hosts[${first}] has it too`,
          hint: `every host needs its own ${field}`,
        });
    }
  });
  const servers = hosts.map(asObject).filter((h) => h?.role === "server");
  if (hosts.length > 0 && servers.length === 0) {
    findings.push({
      severity: "error",
      path: ["spec", "hosts"],
      message: "no host has role: server",
      hint: "a cluster needs at least one server; give one host role: server",
    });
  }
  const primaries = hosts.flatMap((h, i) => (asObject(h)?.primary === true ? [i] : []));
  for (const index of primaries) {
    if (asObject(hosts[index])?.role !== "server")
      findings.push({
        severity: "error",
        path: ["spec", "hosts", index, "primary"],
        message: "only a server can be primary",
        hint: "set role: server on this host or move primary: true to a server",
      });
  }
  for (const index of primaries.slice(1)) {
    findings.push({
      severity: "error",
      path: ["spec", "hosts", index, "primary"],
      message: `more than one primary server (spec.hosts[${primaries[0]}] is primary already)`,
      hint: "exactly one server initialises the cluster",
    });
  }
  const locals = hosts.flatMap((h, i) => (asObject(h)?.connection === "local" ? [i] : []));
  for (const index of locals.slice(1))
    findings.push({
      severity: "error",
      path: ["spec", "hosts", index, "connection"],
      message: `more than one host with connection: local (spec.hosts[${locals[0]}] is the machine airstrap runs on already)`,
      hint: "only one host can be this machine; reach the others over SSH",
    });
  for (const index of locals)
    if (asObject(hosts[index])?.ssh !== undefined)
      findings.push({
        severity: "error",
        path: ["spec", "hosts", index, "ssh"],
        message: "a host with connection: local is not reached over SSH",
        hint: "remove ssh from this host (as a user other than root, airstrap uses sudo on it)",
      });
  if (servers.length > 0 && servers.length % 2 === 0) {
    findings.push({
      severity: "warning",
      path: ["spec", "hosts"],
      message: `${servers.length} servers: an even number of etcd members tolerates no more failures than ${servers.length - 1}`,
      hint: "use an odd number of servers (1, 3, 5) for etcd quorum",
    });
  }
  return findings;
}

function distroFindings(spec: Raw): Finding[] {
  const distro = asObject(spec.distro);
  const name = asString(distro?.name);
  const version = asString(distro?.version);
  if (!name || !version || !(name in DISTRO_DEFAULTS)) return [];
  const suffix = name === "rke2" ? /\+rke2r\d+$/ : /\+k3s\d+$/;
  if (/^v\d+\.\d+\.\d+\+/.test(version) && !suffix.test(version)) {
    return [
      {
        severity: "error",
        path: ["spec", "distro", "version"],
        message: `"${version}" is not a ${name} version`,
        hint: name === "rke2" ? "RKE2 versions look like v1.31.4+rke2r1" : "K3s versions look like v1.31.4+k3s1",
      },
    ];
  }
  return [];
}

function networkFindings(spec: Raw): Finding[] {
  const findings: Finding[] = [];
  const distroName = asString(asObject(spec.distro)?.name);
  const defaults = distroName === "rke2" || distroName === "k3s" ? DISTRO_DEFAULTS[distroName] : DISTRO_DEFAULTS.rke2;
  const network = asObject(spec.network);
  const named: Array<{ label: string; path: Path; net: Network }> = [];
  for (const [key, fallback] of [
    ["podCIDR", defaults.podCIDR],
    ["serviceCIDR", defaults.serviceCIDR],
  ] as const) {
    const text = asString(network?.[key]) ?? fallback;
    const net = parseNetwork(text);
    if (net)
      named.push({
        label: `${key} ${text}${network?.[key] === undefined ? " (default)" : ""}`,
        path: network?.[key] === undefined ? ["spec"] : ["spec", "network", key],
        net,
      });
  }
  const pxe = asObject(asObject(spec.provisioning)?.pxe);
  const subnetText = asString(pxe?.subnet);
  const subnet = subnetText ? parseNetwork(subnetText) : undefined;
  if (subnet)
    named.push({
      label: `provisioning subnet ${subnetText}`,
      path: ["spec", "provisioning", "pxe", "subnet"],
      net: subnet,
    });

  for (let i = 0; i < named.length; i++) {
    for (let j = i + 1; j < named.length; j++) {
      if (networksOverlap(named[i]!.net, named[j]!.net))
        findings.push({
          severity: "error",
          path: named[j]!.path,
          message: `${named[j]!.label} overlaps ${named[i]!.label}`,
          hint: "pod, service and host networks must not overlap",
        });
    }
  }
  const addresses: Array<{ address: string; path: Path; what: string }> = asArray(spec.hosts).flatMap((h, i) => {
    const address = asString(asObject(h)?.address);
    return address
      ? [{ address, path: ["spec", "hosts", i, "address"], what: `host ${asString(asObject(h)?.name) ?? i}` }]
      : [];
  });
  const bootstrap = asString(asObject(spec.bootstrap)?.address);
  if (bootstrap)
    addresses.push({ address: bootstrap, path: ["spec", "bootstrap", "address"], what: "the bootstrap machine" });
  for (const { address, path, what } of addresses) {
    for (const { label, net } of named.slice(0, 2)) {
      if (networkContains(net, address))
        findings.push({
          severity: "error",
          path,
          message: `${what} address ${address} lies inside ${label}`,
          hint: "choose pod and service CIDRs that do not contain the site's addresses",
        });
    }
  }
  return findings;
}

function portFindings(spec: Raw): Finding[] {
  const lb = asObject(spec.loadBalancer) ?? {};
  const distroName = asString(asObject(spec.distro)?.name);
  const joinBackendDefault = distroName === "k3s" ? 6443 : 9345;
  const ports: Array<{ key: string; path: Path; port: unknown; explicit: boolean }> = [
    {
      key: "loadBalancer.apiPort",
      path: ["spec", "loadBalancer", "apiPort"],
      port: lb.apiPort ?? 16443,
      explicit: lb.apiPort !== undefined,
    },
    {
      key: "loadBalancer.joinPort",
      path: ["spec", "loadBalancer", "joinPort"],
      port: lb.joinPort ?? 19345,
      explicit: lb.joinPort !== undefined,
    },
    {
      key: "dns.port",
      path: ["spec", "dns", "port"],
      port: asObject(spec.dns)?.port ?? 53,
      explicit: asObject(spec.dns)?.port !== undefined,
    },
    {
      key: "registry.port",
      path: ["spec", "registry", "port"],
      port: asObject(spec.registry)?.port ?? 5000,
      explicit: asObject(spec.registry)?.port !== undefined,
    },
  ];
  const serverPorts = new Set([lb.apiBackendPort ?? 6443, lb.joinBackendPort ?? joinBackendDefault, 10250, 2379, 2380]);
  const findings: Finding[] = [];
  ports.forEach((entry, index) => {
    if (typeof entry.port !== "number") return;
    const where = entry.explicit ? entry.path : ["spec"];
    if (serverPorts.has(entry.port))
      findings.push({
        severity: "error",
        path: where,
        message: `${entry.key} ${entry.port} collides with a port the Kubernetes servers bind on every node`,
        hint: "RKE2/K3s servers listen on *:6443, *:9345, 10250, 2379-2380; pick another port (defaults: LB 16443 and 19345)",
      });
    const clash = ports.slice(0, index).find((other) => other.port === entry.port);
    if (clash)
      findings.push({
        severity: "error",
        path: where,
        message: `${entry.key} ${entry.port} is also ${clash.key}`,
        hint: "each node-local service needs its own port",
      });
  });
  return findings;
}

function dnsFindings(spec: Raw): Finding[] {
  const findings: Finding[] = [];
  const dns = asObject(spec.dns);
  const hostAddresses = new Set(asArray(spec.hosts).map((h) => asString(asObject(h)?.address)));
  const dnsPort = typeof dns?.port === "number" ? dns.port : 53;
  asArray(dns?.upstreams).forEach((entry, index) => {
    const text = asString(entry);
    if (!text) return;
    const match = text.match(/^\[?([^\]]+?)\]?(?::(\d+))?$/);
    const address = match?.[1];
    const port = match?.[2] === undefined ? 53 : Number(match[2]);
    if (port < 1 || port > 65535)
      findings.push({
        severity: "error",
        path: ["spec", "dns", "upstreams", index],
        message: `upstream port ${port} is out of range`,
        hint: "ports are 1-65535",
      });
    if (address && hostAddresses.has(address) && port === dnsPort)
      findings.push({
        severity: "error",
        path: ["spec", "dns", "upstreams", index],
        message: `upstream ${text} is a site host's own airstrap DNS server: forwarding would loop`,
        hint: "upstreams are DNS servers outside the site, or none",
      });
  });
  const hostNames = new Set(asArray(spec.hosts).map((h) => asString(asObject(h)?.name)));
  const clusterRecord =
    asString(spec.clusterRecord) ?? `${asString(asObject(asObject(spec)?.metadata)?.name) ?? ""}-cluster`;
  asArray(dns?.records).forEach((entry, index) => {
    const record = asObject(entry);
    const name = asString(record?.name)?.toLowerCase();
    if (record?.type !== "CNAME" || !name) return;
    if (hostNames.has(name) || name === clusterRecord)
      findings.push({
        severity: "error",
        path: ["spec", "dns", "records", index, "name"],
        message: `CNAME "${name}" would replace ${name === clusterRecord ? "the cluster record" : "a host's own record"}`,
        hint: "a CNAME cannot sit beside other records of the same name (RFC 1034)",
      });
  });
  return findings;
}

function registryFindings(spec: Raw): Finding[] {
  const hostNames = asArray(spec.hosts).flatMap((h) => asString(asObject(h)?.name) ?? []);
  return asArray(asObject(spec.registry)?.hosts).flatMap((entry, index): Finding[] => {
    const name = asString(entry);
    if (name === undefined || hostNames.includes(name)) return [];
    const suggestion = closestMatch(name, hostNames);
    return [
      {
        severity: "error",
        path: ["spec", "registry", "hosts", index],
        message: `registry host "${name}" is not in spec.hosts${suggestion ? `; did you mean "${suggestion}"?` : ""}`,
        hint: `hosts: ${hostNames.join(", ")}`,
      },
    ];
  });
}
