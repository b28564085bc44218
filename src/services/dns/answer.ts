import { addressFamily, ipv4Bytes, ipv6Bytes } from "./address.js";
import type { ResourceRecord } from "./message.js";
import { parentName } from "./names.js";
import { RCODE, TYPE } from "./wire.js";
import { findZone, type RRset, type Zone, type ZoneNode, type ZoneSet } from "./zone.js";

/** Authoritative answers from the compiled zones, as seen from the address a query arrived on. Pure. */

export interface Answer {
  rcode: number;
  answer: ResourceRecord[];
  authority: ResourceRecord[];
  additional: ResourceRecord[];
  /** A CNAME chain left our zones here; a recursive server may continue from this name. */
  outsideTarget?: string;
}

const MAX_CNAME_CHAIN = 8;

/** undefined when the name is in none of our zones (the caller forwards or refuses). */
export function answerAuthoritative(zones: ZoneSet, name: string, type: number, local: string): Answer | undefined {
  let zone = findZone(zones.zones, name);
  if (zone === undefined) return undefined;
  const result: Answer = { rcode: RCODE.NOERROR, answer: [], authority: [], additional: [] };
  let current = name;
  const visited = new Set<string>();
  for (let hop = 0; hop <= MAX_CNAME_CHAIN; hop++) {
    visited.add(current);
    const node = lookup(zone, current);
    if (node === undefined) {
      result.rcode = RCODE.NXDOMAIN;
      result.authority.push(soaRecord(zone));
      return result;
    }
    const cname = node.rrsets.get(TYPE.CNAME);
    if (cname && type !== TYPE.CNAME) {
      pushRRset(result.answer, current, cname);
      const target = (cname.rdata[0] as { name: string }).name;
      const targetZone = findZone(zones.zones, target);
      if (targetZone === undefined) {
        result.outsideTarget = target;
        return result;
      }
      if (hop === MAX_CNAME_CHAIN || visited.has(target)) {
        result.rcode = RCODE.SERVFAIL;
        return result;
      }
      zone = targetZone;
      current = target;
      continue;
    }
    const rrset = type === TYPE.ANY ? anyRRset(node, zones, local) : rrsetAt(node, type, zones, local);
    if (rrset === undefined) {
      result.authority.push(soaRecord(zone));
      return result;
    }
    pushRRset(result.answer, current, rrset);
    addGlue(result, rrset, zones, local);
    return result;
  }
  return result;
}

/** The node for a name: itself, or synthesised from the wildcard at its closest encloser (RFC 4592). */
function lookup(zone: Zone, name: string): ZoneNode | undefined {
  const exact = zone.nodes.get(name);
  if (exact) return exact;
  let encloser = parentName(name);
  while (encloser !== undefined && !zone.nodes.has(encloser)) encloser = parentName(encloser);
  if (encloser === undefined) return undefined;
  return zone.nodes.get(encloser === "" ? "*" : `*.${encloser}`);
}

function rrsetAt(node: ZoneNode, type: number, zones: ZoneSet, local: string): RRset | undefined {
  if (node.cluster && (type === TYPE.A || type === TYPE.AAAA)) return clusterRRset(zones, type, local);
  return node.rrsets.get(type);
}

/** RFC 8482: one RRset is enough for ANY. */
function anyRRset(node: ZoneNode, zones: ZoneSet, local: string): RRset | undefined {
  if (node.cluster) return clusterRRset(zones, TYPE.A, local) ?? clusterRRset(zones, TYPE.AAAA, local);
  for (const preferred of [TYPE.A, TYPE.AAAA]) {
    const rrset = node.rrsets.get(preferred);
    if (rrset) return rrset;
  }
  return node.rrsets.values().next().value;
}

/** The node itself: the address the query arrived on when it is one of the node's, else its configured one. */
function clusterRRset(zones: ZoneSet, type: number, local: string): RRset | undefined {
  const family = type === TYPE.A ? 4 : 6;
  const own = zones.nodeAddresses[family];
  const localPlain = local.startsWith("::ffff:") && family === 4 ? local.slice(7) : local;
  const address = addressFamily(localPlain) === family && own.includes(localPlain) ? localPlain : own[0];
  if (address === undefined) return undefined;
  const bytes = family === 4 ? ipv4Bytes(address) : ipv6Bytes(address);
  return { type, ttl: zones.ttl, rdata: [{ kind: "bytes", bytes }] };
}

function pushRRset(into: ResourceRecord[], owner: string, rrset: RRset): void {
  for (const rdata of rrset.rdata) into.push({ owner, type: rrset.type, ttl: rrset.ttl, rdata });
}

function soaRecord(zone: Zone): ResourceRecord {
  return { owner: zone.apex, type: TYPE.SOA, ttl: zone.soa.ttl, rdata: zone.soa.rdata[0]! };
}

/** Addresses of in-zone NS and SRV targets, so the client needs no second query. */
function addGlue(result: Answer, rrset: RRset, zones: ZoneSet, local: string): void {
  if (rrset.type !== TYPE.NS && rrset.type !== TYPE.SRV) return;
  for (const rdata of rrset.rdata) {
    const target = rdata.kind === "name" ? rdata.name : rdata.kind === "srv" ? rdata.target : undefined;
    if (target === undefined) continue;
    const zone = findZone(zones.zones, target);
    const node = zone?.nodes.get(target);
    if (!node) continue;
    for (const type of [TYPE.A, TYPE.AAAA]) {
      const glue = rrsetAt(node, type, zones, local);
      if (glue) pushRRset(result.additional, target, glue);
    }
  }
}
