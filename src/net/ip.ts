import { isIPv4, isIPv6 } from "node:net";

/** Pure IPv4/IPv6 arithmetic on bigints: containment and overlap of networks. */
export interface Network {
  family: 4 | 6;
  /** Network address (host bits cleared). */
  base: bigint;
  prefix: number;
}

export function parseAddress(text: string): { family: 4 | 6; value: bigint } | undefined {
  if (isIPv4(text)) {
    const value = text.split(".").reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
    return { family: 4, value };
  }
  if (isIPv6(text)) return { family: 6, value: ipv6ToBigInt(text) };
  return undefined;
}

function ipv6ToBigInt(text: string): bigint {
  let address = text.split("%")[0]!;
  // An embedded IPv4 tail (::ffff:10.0.0.1) becomes two hextets.
  const v4 = address.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (v4) {
    const value = parseAddress(v4[1]!)!.value;
    address = `${address.slice(0, -v4[1]!.length)}${(value >> 16n).toString(16)}:${(value & 0xffffn).toString(16)}`;
  }
  const [head = "", tail] = address.split("::");
  const headParts = head === "" ? [] : head.split(":");
  const tailParts = tail === undefined || tail === "" ? [] : tail.split(":");
  const missing = 8 - headParts.length - tailParts.length;
  const parts = [...headParts, ...Array<string>(tail === undefined ? 0 : missing).fill("0"), ...tailParts];
  return parts.reduce((acc, part) => (acc << 16n) | BigInt(Number.parseInt(part, 16)), 0n);
}

const bitsOf = (family: 4 | 6) => (family === 4 ? 32 : 128);

export function parseNetwork(text: string): Network | undefined {
  const [addressText, prefixText] = text.split("/");
  if (addressText === undefined || prefixText === undefined || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const address = parseAddress(addressText);
  const prefix = Number(prefixText);
  if (address === undefined || prefix > bitsOf(address.family)) return undefined;
  return { family: address.family, base: address.value & mask(address.family, prefix), prefix };
}

function mask(family: 4 | 6, prefix: number): bigint {
  const bits = BigInt(bitsOf(family));
  return ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

/** An IPv4-mapped IPv6 address as a socket reports it on a dual-stack listener (::ffff:10.0.0.1) → 10.0.0.1. */
export function unmapIPv4(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

export function networkContains(network: Network, address: string): boolean {
  const parsed = parseAddress(address);
  if (parsed === undefined || parsed.family !== network.family) return false;
  return (parsed.value & mask(network.family, network.prefix)) === network.base;
}

export function networksOverlap(a: Network, b: Network): boolean {
  if (a.family !== b.family) return false;
  const shorter = Math.min(a.prefix, b.prefix);
  const m = mask(a.family, shorter);
  return (a.base & m) === (b.base & m);
}

/** The /24 (IPv4) or /64 (IPv6) around an address: the default "site network" of a host. */
export function enclosingSiteNetwork(address: string): string {
  const parsed = parseAddress(address);
  if (parsed === undefined) throw new Error(`not an IP address: ${address}`);
  const prefix = parsed.family === 4 ? 24 : 64;
  return formatNetwork({ family: parsed.family, base: parsed.value & mask(parsed.family, prefix), prefix });
}

export function formatNetwork(network: Network): string {
  return `${formatAddress(network.family, network.base)}/${network.prefix}`;
}

export function formatAddress(family: 4 | 6, value: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((shift) => ((value >> shift) & 0xffn).toString()).join(".");
  const hextets = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt((7 - i) * 16)) & 0xffffn));
  // RFC 5952: compress the longest run of two or more zero hextets.
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (hextets[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && hextets[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = hextets.map((h) => h.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}
