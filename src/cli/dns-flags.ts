/**
 * Pure: the command-line form without a manifest (`airstrap dns --domain edge.lan --node-address
 * 10.77.0.11 ...`) as a DnsConfig, plus the records file it may read.
 */
import { isIP } from "node:net";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { OperatorError, UsageError } from "../errors.js";
import { parseEndpoint } from "../net/endpoint.js";
import { parseCidr } from "../services/dns/address.js";
import {
  absoluteName,
  DNS_DEFAULTS,
  type DnsConfig,
  type DnsEndpoint,
  type DnsRecord,
} from "../services/dns/config.js";

export interface DnsFlagForm {
  domain: string;
  nodeName: string;
  nodeAddress: string[];
  clusterRecord?: string;
  host: string[];
  record: string[];
  upstream: string[];
  allow: string[];
  listen: string[];
  http?: string;
  ttl?: string;
  upstreamTimeout?: string;
}

/** A flag holding ADDR[:PORT] (IPv6 in brackets with a port); port 0 lets the kernel pick. */
export function endpointFlag(text: string, flag: string, defaultPort: number): DnsEndpoint {
  return parseEndpoint(text, flag, { defaultPort, allowPortZero: true, error: UsageError });
}

function numberFlag(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new UsageError(`${flag} ${text}: expected a whole number`);
  return value;
}

/** "NAME TYPE VALUE" (names relative to the domain unless they end with "."), as in `--record "git A 10.77.0.20"`. */
export function recordFlag(text: string, domain: string): DnsRecord {
  const match = text.trim().match(/^(\S+)\s+(A|AAAA|CNAME|SRV|TXT|PTR)\s+(.+)$/i);
  if (!match) {
    throw new UsageError(`--record "${text}": expected "NAME TYPE VALUE"`, {
      hint: 'like --record "git A 10.77.0.20" or --record "_ldap._tcp SRV 10 5 389 ldap"',
    });
  }
  const type = match[2]!.toUpperCase() as DnsRecord["type"];
  return relativeRecord({ name: match[1]!, type, value: match[3]! }, domain);
}

function relativeRecord(record: DnsRecord, domain: string): DnsRecord {
  const value =
    record.type === "CNAME" || record.type === "PTR"
      ? absoluteName(record.value, domain)
      : record.type === "SRV"
        ? record.value.replace(/(\S+)\s*$/, (target) => absoluteName(target, domain))
        : record.value;
  return { ...record, name: absoluteName(record.name, domain), value };
}

export function dnsConfigFromFlags(flags: DnsFlagForm, fileRecords: DnsRecord[] = []): DnsConfig {
  const domain = flags.domain.toLowerCase().replace(/\.$/, "");
  if (flags.nodeAddress.length === 0) {
    throw new UsageError("--node-address is required without a manifest", {
      hint: "the address this node is reached at, e.g. --node-address 10.77.0.11 (repeat for more)",
    });
  }
  for (const address of flags.nodeAddress) {
    if (isIP(address) === 0) throw new UsageError(`--node-address ${address}: not an IP address`);
  }
  const nodeFqdn = absoluteName(flags.nodeName, domain);
  const hosts = [
    { fqdn: nodeFqdn, address: flags.nodeAddress[0]! },
    ...flags.host.map((text) => {
      const [name, address] = text.split("=");
      if (!name || !address || isIP(address) === 0) {
        throw new UsageError(`--host ${text}: expected NAME=ADDRESS`, { hint: "like --host k8s-server-02=10.77.0.12" });
      }
      return { fqdn: absoluteName(name, domain), address };
    }),
  ];
  const allowed =
    flags.allow.length > 0 ? flags.allow : [...new Set(flags.nodeAddress.map(siteNetworkOf)), "127.0.0.0/8", "::1/128"];
  for (const cidr of allowed) {
    if (parseCidr(cidr) === undefined)
      throw new UsageError(`--allow ${cidr}: not a network`, { hint: "like --allow 10.77.0.0/24" });
  }
  const listen =
    flags.listen.length > 0
      ? flags.listen.map((text) => endpointFlag(text, "--listen", 53))
      : flags.nodeAddress.map((address) => ({ address, port: 53 }));
  return {
    listen,
    ...(flags.http ? { http: endpointFlag(flags.http, "--http", 9153) } : {}),
    domain,
    clusterFqdn: absoluteName(flags.clusterRecord ?? "cluster", domain),
    node: { name: flags.nodeName, fqdn: nodeFqdn, addresses: flags.nodeAddress },
    hosts,
    records: [
      ...flags.record.map((text) => recordFlag(text, domain)),
      ...fileRecords.map((r) => relativeRecord(r, domain)),
    ],
    upstreams: flags.upstream.map((text) => endpointFlag(text, "--upstream", 53)),
    allowedNetworks: allowed,
    ...DNS_DEFAULTS,
    ttl: numberFlag(flags.ttl, "--ttl", DNS_DEFAULTS.ttl),
    upstreamTimeoutMs: numberFlag(flags.upstreamTimeout, "--upstream-timeout", DNS_DEFAULTS.upstreamTimeoutMs),
  };
}

function siteNetworkOf(address: string): string {
  if (isIP(address) === 4) return `${address.split(".").slice(0, 3).join(".")}.0/24`;
  return `${address}/64`;
}

const recordsFileSchema = z.strictObject({
  records: z.array(
    z.strictObject({
      name: z.string().min(1),
      type: z.enum(["A", "AAAA", "CNAME", "SRV", "TXT", "PTR"]),
      value: z.string().min(1),
      ttl: z.int().min(0).max(2147483647).optional(),
    }),
  ),
});

/** A records file: `records: [{name, type, value, ttl?}]`, names relative to the domain unless they end with ".". */
export function parseRecordsFile(text: string, file: string): DnsRecord[] {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new OperatorError(`${file}: not valid YAML: ${(error as Error).message}`);
  }
  const result = recordsFileSchema.safeParse(data ?? {});
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`)).join("");
    throw new OperatorError(`${file}: ${where.replace(/^\./, "") || "(top)"}: ${issue.message}`, {
      hint: "the file holds records: [{ name: git, type: A, value: 10.77.0.20, ttl: 300 }, ...]",
    });
  }
  return result.data.records.map((r) => ({ ...r, ...(r.ttl === undefined ? {} : { ttl: r.ttl }) }));
}
