import { isIPv4, isIPv6 } from "node:net";

/** Address bytes and reverse names for DNS data, and a fast client-network matcher. Pure. */

export function ipv4Bytes(address: string): Uint8Array {
  return Uint8Array.from(address.split(".").map(Number));
}

export function ipv6Bytes(address: string): Uint8Array {
  let text = address.split("%")[0]!;
  const tail = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (tail) {
    const v4 = ipv4Bytes(tail[1]!);
    text = `${text.slice(0, -tail[1]!.length)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const [head = "", rest] = text.split("::");
  const headParts = head === "" ? [] : head.split(":");
  const tailParts = rest === undefined || rest === "" ? [] : rest.split(":");
  const zeros = rest === undefined ? 0 : 8 - headParts.length - tailParts.length;
  const hextets = [...headParts, ...Array<string>(zeros).fill("0"), ...tailParts].map((part) =>
    Number.parseInt(part, 16),
  );
  const bytes = new Uint8Array(16);
  hextets.forEach((value, i) => {
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 0xff;
  });
  return bytes;
}

export function addressFamily(address: string): 4 | 6 | undefined {
  if (isIPv4(address)) return 4;
  if (isIPv6(address)) return 6;
  return undefined;
}

/** 10.77.0.11 → 11.0.77.10.in-addr.arpa; IPv6 → nibbles under ip6.arpa. */
export function reverseName(address: string): string {
  if (isIPv4(address)) return `${address.split(".").reverse().join(".")}.in-addr.arpa`;
  return `${nibbles(ipv6Bytes(address)).reverse().join(".")}.ip6.arpa`;
}

/** The reverse zone we serve for a host address: its /24 (IPv4) or /64 (IPv6). */
export function reverseZoneOf(address: string): string {
  if (isIPv4(address)) return `${address.split(".").slice(0, 3).reverse().join(".")}.in-addr.arpa`;
  return `${nibbles(ipv6Bytes(address)).slice(0, 16).reverse().join(".")}.ip6.arpa`;
}

function nibbles(bytes: Uint8Array): string[] {
  return Array.from(bytes).flatMap((byte) => [(byte >> 4).toString(16), (byte & 0xf).toString(16)]);
}

interface CompiledNetwork {
  family: 4 | 6;
  bytes: Uint8Array;
  prefix: number;
}

export function parseCidr(text: string): CompiledNetwork | undefined {
  const [address = "", prefixText] = text.split("/");
  const family = addressFamily(address);
  if (family === undefined) return undefined;
  const bits = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText ?? String(bits)) || prefix > bits) return undefined;
  return { family, bytes: family === 4 ? ipv4Bytes(address) : ipv6Bytes(address), prefix };
}

function contains(network: CompiledNetwork, bytes: Uint8Array): boolean {
  let remaining = network.prefix;
  for (let i = 0; remaining > 0; i++, remaining -= 8) {
    const mask = remaining >= 8 ? 0xff : (0xff << (8 - remaining)) & 0xff;
    if (((bytes[i]! ^ network.bytes[i]!) & mask) !== 0) return false;
  }
  return true;
}

/**
 * Decides whether a client address is inside the allowed networks. Verdicts are memoised per
 * address (bounded), so the per-query cost is one Map lookup.
 */
export class NetworkMatcher {
  private readonly networks: CompiledNetwork[];
  private readonly verdicts = new Map<string, boolean>();

  constructor(cidrs: string[]) {
    this.networks = cidrs.map((cidr) => {
      const network = parseCidr(cidr);
      if (network === undefined) throw new Error(`not a network: ${cidr}`);
      return network;
    });
  }

  allows(address: string): boolean {
    const known = this.verdicts.get(address);
    if (known !== undefined) return known;
    const verdict = this.compute(address);
    if (this.verdicts.size >= 4096) this.verdicts.clear();
    this.verdicts.set(address, verdict);
    return verdict;
  }

  private compute(address: string): boolean {
    const mapped = address.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i);
    const plain = mapped ? mapped[1]! : address;
    const family = addressFamily(plain);
    if (family === undefined) return false;
    const bytes = family === 4 ? ipv4Bytes(plain) : ipv6Bytes(plain);
    return this.networks.some((network) => network.family === family && contains(network, bytes));
  }
}
