import { ipv6Bytes } from "./address.js";
import type { Rdata } from "./rdata.js";
import { TYPE } from "./wire.js";

/** Zones every node answers itself and never forwards, whatever the manifest says. */

interface SpecialZone {
  apex: string;
  records: { name: string; type: number; rdata: Rdata }[];
}

const LOOPBACK_V4: Rdata = { kind: "bytes", bytes: Uint8Array.from([127, 0, 0, 1]) };
const LOOPBACK_V6: Rdata = { kind: "bytes", bytes: ipv6Bytes("::1") };
const LOCALHOST: Rdata = { kind: "name", name: "localhost" };
const IPV6_LOOPBACK_REVERSE = `1.${"0.".repeat(31)}ip6.arpa`;

/** RFC 6303 (+ RFC 7793): reverse zones of private and special ranges, empty unless a host lives there. */
const LOCALLY_SERVED_REVERSE_ZONES = [
  "10.in-addr.arpa",
  ...Array.from({ length: 16 }, (_, i) => `${16 + i}.172.in-addr.arpa`),
  "168.192.in-addr.arpa",
  ...Array.from({ length: 64 }, (_, i) => `${64 + i}.100.in-addr.arpa`),
  "0.in-addr.arpa",
  "254.169.in-addr.arpa",
  "2.0.192.in-addr.arpa",
  "100.51.198.in-addr.arpa",
  "113.0.203.in-addr.arpa",
  "255.255.255.255.in-addr.arpa",
  `${"0.".repeat(32)}ip6.arpa`,
  "d.f.ip6.arpa",
  "8.e.f.ip6.arpa",
  "9.e.f.ip6.arpa",
  "a.e.f.ip6.arpa",
  "b.e.f.ip6.arpa",
  "8.b.d.0.1.0.0.2.ip6.arpa",
];

export const SPECIAL_ZONES: SpecialZone[] = [
  ...LOCALLY_SERVED_REVERSE_ZONES.map((apex) => ({ apex, records: [] })),
  { apex: "127.in-addr.arpa", records: [{ name: "1.0.0.127.in-addr.arpa", type: TYPE.PTR, rdata: LOCALHOST }] },
  { apex: IPV6_LOOPBACK_REVERSE, records: [{ name: IPV6_LOOPBACK_REVERSE, type: TYPE.PTR, rdata: LOCALHOST }] },
  // RFC 6761: localhost and everything under it is the loopback address; invalid never exists.
  {
    apex: "localhost",
    records: ["localhost", "*.localhost"].flatMap((name) => [
      { name, type: TYPE.A, rdata: LOOPBACK_V4 },
      { name, type: TYPE.AAAA, rdata: LOOPBACK_V6 },
    ]),
  },
  { apex: "invalid", records: [] },
];
