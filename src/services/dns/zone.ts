import { OperatorError } from "../../errors.js";
import { addressFamily, ipv4Bytes, ipv6Bytes, reverseName, reverseZoneOf } from "./address.js";
import type { DnsConfig, DnsRecord } from "./config.js";
import { isSubdomain, parentName } from "./names.js";
import type { Rdata } from "./rdata.js";
import { SPECIAL_ZONES } from "./special-zones.js";
import { TYPE } from "./wire.js";

/** The authoritative data one node serves, compiled from its DnsConfig. Pure. */

export interface RRset {
  type: number;
  ttl: number;
  rdata: Rdata[];
}

export interface ZoneNode {
  rrsets: Map<number, RRset>;
  /** The cluster record: A/AAAA depend on the address the query arrived on. */
  cluster: boolean;
}

export interface Zone {
  apex: string;
  nodes: Map<string, ZoneNode>;
  soa: RRset;
}

export interface ZoneSet {
  zones: Map<string, Zone>;
  clusterFqdn: string;
  nodeAddresses: { 4: string[]; 6: string[] };
  ttl: number;
}

export function compileZones(config: DnsConfig, serial: number): ZoneSet {
  const domain = checkedName(config.domain, "the DNS domain");
  const builder = new ZoneBuilder(config, serial);
  const forward = builder.zone(domain);

  const clusterFqdn = checkedName(config.clusterFqdn, "the cluster record");
  if (!isSubdomain(clusterFqdn, domain)) {
    throw new OperatorError(`the cluster record ${clusterFqdn} is outside the domain ${domain}`, {
      hint: "the cluster record is a name inside the cluster domain, like edge-cluster.edge.lan",
    });
  }
  builder.node(forward, clusterFqdn).cluster = true;

  for (const host of config.hosts) {
    const fqdn = checkedName(host.fqdn, `host ${host.fqdn}`);
    if (fqdn === clusterFqdn) {
      throw new OperatorError(`host ${fqdn} has the same name as the cluster record`, {
        hint: "rename the host or set spec.clusterRecord",
      });
    }
    builder.addAddress(forward, fqdn, host.address, config.ttl, `host ${fqdn}`);
    const zone = builder.zone(reverseZoneOf(host.address));
    builder.add(zone, reverseName(host.address), TYPE.PTR, config.ttl, { kind: "name", name: fqdn });
  }

  for (const record of config.records) builder.addRecord(record, forward, clusterFqdn);
  builder.addReverseOfExtraAddresses(config.records);
  builder.addSpecialZones();
  builder.checkCnames();
  builder.addEmptyNonTerminals();
  return {
    zones: builder.zones,
    clusterFqdn,
    nodeAddresses: {
      4: config.node.addresses.filter((address) => addressFamily(address) === 4),
      6: config.node.addresses.filter((address) => addressFamily(address) === 6),
    },
    ttl: config.ttl,
  };
}

const NAME_PATTERN = /^(\*|[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

function checkedName(name: string, what: string): string {
  const lower = name.toLowerCase().replace(/\.$/, "");
  if (lower.length > 253 || !NAME_PATTERN.test(lower)) {
    throw new OperatorError(`${what}: "${name}" is not a valid DNS name`, {
      hint: "names are dot-separated labels of letters, digits, '-' and '_' (a leading '*' label for wildcards)",
    });
  }
  return lower;
}

class ZoneBuilder {
  readonly zones = new Map<string, Zone>();

  constructor(
    private readonly config: DnsConfig,
    private readonly serial: number,
  ) {}

  zone(apex: string): Zone {
    const existing = this.zones.get(apex);
    if (existing) return existing;
    const { negativeTtl, node } = this.config;
    const soa: RRset = {
      type: TYPE.SOA,
      ttl: negativeTtl,
      rdata: [
        {
          kind: "soa",
          mname: node.fqdn,
          rname: `hostmaster.${this.config.domain}`,
          serial: this.serial >>> 0,
          refresh: 3600,
          retry: 600,
          expire: 86400,
          minimum: negativeTtl,
        },
      ],
    };
    const zone: Zone = { apex, nodes: new Map(), soa };
    this.zones.set(apex, zone);
    const apexNode = this.node(zone, apex);
    apexNode.rrsets.set(TYPE.SOA, soa);
    apexNode.rrsets.set(TYPE.NS, { type: TYPE.NS, ttl: this.config.ttl, rdata: [{ kind: "name", name: node.fqdn }] });
    return zone;
  }

  node(zone: Zone, name: string): ZoneNode {
    let node = zone.nodes.get(name);
    if (!node) {
      node = { rrsets: new Map(), cluster: false };
      zone.nodes.set(name, node);
    }
    return node;
  }

  /** Adds one record; RFC 2181: one TTL per RRset, the lowest wins. */
  add(zone: Zone, name: string, type: number, ttl: number, rdata: Rdata): void {
    const node = this.node(zone, name);
    const rrset = node.rrsets.get(type);
    if (!rrset) {
      node.rrsets.set(type, { type, ttl, rdata: [rdata] });
      return;
    }
    rrset.ttl = Math.min(rrset.ttl, ttl);
    if (!rrset.rdata.some((existing) => sameRdata(existing, rdata))) rrset.rdata.push(rdata);
  }

  addAddress(zone: Zone, name: string, address: string, ttl: number, what: string): void {
    const family = addressFamily(address);
    if (family === undefined) throw new OperatorError(`${what}: "${address}" is not an IP address`);
    const bytes = family === 4 ? ipv4Bytes(address) : ipv6Bytes(address);
    this.add(zone, name, family === 4 ? TYPE.A : TYPE.AAAA, ttl, { kind: "bytes", bytes });
  }

  addRecord(record: DnsRecord, forward: Zone, clusterFqdn: string): void {
    const what = `DNS record ${record.name} (${record.type})`;
    const name = checkedName(record.name, what);
    const zone = this.enclosingZone(name);
    if (zone === undefined) {
      throw new OperatorError(`${what} is outside the domain ${forward.apex}`, {
        hint: `airstrap answers names under ${forward.apex} (and the reverse zones of the hosts); serve other names from the site's DNS`,
      });
    }
    if (name === clusterFqdn) {
      throw new OperatorError(`${what} collides with the cluster record`, {
        hint: "the cluster record always resolves to the node itself; use another name",
      });
    }
    const ttl = record.ttl ?? this.config.ttl;
    switch (record.type) {
      case "A":
      case "AAAA":
        if (addressFamily(record.value) !== (record.type === "A" ? 4 : 6)) {
          throw new OperatorError(`${what}: "${record.value}" is not an IPv${record.type === "A" ? 4 : 6} address`);
        }
        this.addAddress(zone, name, record.value, ttl, what);
        return;
      case "CNAME":
      case "PTR": {
        if (record.type === "CNAME" && name === zone.apex) {
          throw new OperatorError(`${what}: a CNAME cannot sit at the zone apex`, { hint: "use A/AAAA records there" });
        }
        const target = checkedName(record.value, `${what}, target`);
        this.add(zone, name, record.type === "CNAME" ? TYPE.CNAME : TYPE.PTR, ttl, { kind: "name", name: target });
        return;
      }
      case "SRV": {
        const match = record.value.trim().match(/^(\d{1,5})\s+(\d{1,5})\s+(\d{1,5})\s+(\S+)$/);
        const numbers = match ? [match[1], match[2], match[3]].map(Number) : [];
        if (!match || numbers.some((n) => n! > 65535)) {
          throw new OperatorError(`${what}: "${record.value}" is not "priority weight port target"`, {
            hint: 'like "10 5 389 ldap.edge.lan"',
          });
        }
        const target = checkedName(match[4]!, `${what}, target`);
        const [priority, weight, port] = numbers as [number, number, number];
        this.add(zone, name, TYPE.SRV, ttl, { kind: "srv", priority, weight, port, target });
        return;
      }
      case "TXT":
        this.add(zone, name, TYPE.TXT, ttl, { kind: "bytes", bytes: encodeText(record.value) });
        return;
    }
  }

  /** A PTR for each extra A/AAAA record inside a reverse zone we serve, unless that address already has one. */
  addReverseOfExtraAddresses(records: DnsRecord[]): void {
    for (const record of records) {
      if (record.type !== "A" && record.type !== "AAAA") continue;
      const zone = this.zones.get(reverseZoneOf(record.value));
      if (!zone) continue;
      const name = reverseName(record.value);
      if (zone.nodes.get(name)?.rrsets.has(TYPE.PTR)) continue;
      this.add(zone, name, TYPE.PTR, record.ttl ?? this.config.ttl, {
        kind: "name",
        name: record.name.toLowerCase().replace(/\.$/, ""),
      });
    }
  }

  addSpecialZones(): void {
    for (const special of SPECIAL_ZONES) {
      const zone = this.zone(special.apex);
      for (const record of special.records) this.add(zone, record.name, record.type, this.config.ttl, record.rdata);
    }
  }

  checkCnames(): void {
    for (const zone of this.zones.values()) {
      for (const [name, node] of zone.nodes) {
        const cname = node.rrsets.get(TYPE.CNAME);
        if (!cname) continue;
        if (node.rrsets.size > 1 || node.cluster) {
          throw new OperatorError(`DNS name ${name} has a CNAME and other records`, {
            hint: "a name with a CNAME can have no other data (RFC 1034); keep either the CNAME or the others",
          });
        }
        if (cname.rdata.length > 1) {
          throw new OperatorError(`DNS name ${name} has more than one CNAME`, { hint: "keep one" });
        }
      }
    }
  }

  /** RFC 8020: every ancestor of a name, up to the apex, exists (maybe with no data). */
  addEmptyNonTerminals(): void {
    for (const zone of this.zones.values()) {
      for (const name of [...zone.nodes.keys()]) {
        let ancestor = parentName(name);
        while (ancestor !== undefined && isSubdomain(ancestor, zone.apex) && !zone.nodes.has(ancestor)) {
          this.node(zone, ancestor);
          ancestor = parentName(ancestor);
        }
      }
    }
  }

  private enclosingZone(name: string): Zone | undefined {
    return findZone(this.zones, name);
  }
}

/** The zone whose apex is the longest suffix of the name. */
export function findZone(zones: Map<string, Zone>, name: string): Zone | undefined {
  let candidate: string | undefined = name;
  while (candidate !== undefined) {
    const zone = zones.get(candidate);
    if (zone) return zone;
    candidate = parentName(candidate);
  }
  return undefined;
}

/** TXT rdata: the text as character-strings of at most 255 octets (UTF-8). */
function encodeText(text: string): Uint8Array {
  const bytes = Buffer.from(text, "utf8");
  const chunks: number[] = [];
  for (let i = 0; i < bytes.length || i === 0; i += 255) {
    const chunk = bytes.subarray(i, i + 255);
    chunks.push(chunk.length, ...chunk);
    if (bytes.length === 0) break;
  }
  return Uint8Array.from(chunks);
}

function sameRdata(a: Rdata, b: Rdata): boolean {
  return (
    JSON.stringify(a, (_key, value) => (value instanceof Uint8Array ? Array.from(value) : value)) ===
    JSON.stringify(b, (_key, value) => (value instanceof Uint8Array ? Array.from(value) : value))
  );
}
