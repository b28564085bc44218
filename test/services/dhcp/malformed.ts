import { MessageType } from "../../../src/services/dhcp/wire.js";
import { seededRandom } from "../../helpers/seeded-random.js";
import { KNOWN_MAC, pxeDiscover, request } from "./fixture.js";

/** Malformed DHCP datagrams for the fuzz tests, from a fixed seed so a failure can be replayed. */

const VALID = [
  pxeDiscover(),
  pxeDiscover({ arch: 7, userClass: "iPXE", uuid: Buffer.alloc(17, 3) }),
  request({ type: MessageType.REQUEST, serverId: "10.200.0.1", requested: "10.200.0.11" }),
  request({ type: MessageType.REQUEST, ciaddr: "127.0.0.1", mac: KNOWN_MAC }),
  request({ type: MessageType.INFORM, ciaddr: "10.200.0.11" }),
  request({ type: MessageType.RELEASE, ciaddr: "10.200.0.11", serverId: "10.200.0.1" }),
];

const OPTIONS_START = 240;

type Mutation = (datagram: Buffer, random: ReturnType<typeof seededRandom>) => Buffer;

const MUTATIONS: Mutation[] = [
  // truncated anywhere, header included
  (d, r) => d.subarray(0, r.int(d.length)),
  // truncated inside the options
  (d, r) => d.subarray(0, OPTIONS_START + r.int(12)),
  // an option whose length runs past the end
  (d, r) =>
    Buffer.concat([
      d.subarray(0, OPTIONS_START + 3),
      Buffer.from([r.int(254) + 1, 200 + r.int(56)]),
      Buffer.alloc(r.int(40)),
    ]),
  // a code with no length byte
  (d, r) => Buffer.concat([d.subarray(0, OPTIONS_START + 3), Buffer.from([1 + r.int(253)])]),
  // wrong cookie
  (d, r) => {
    const out = Buffer.from(d);
    const at = 236 + r.int(4);
    out[at] = out[at]! ^ (1 + r.int(255));
    return out;
  },
  // huge (or any) hlen, any htype
  (d, r) => {
    const out = Buffer.from(d);
    out[2] = r.int(256);
    out[1] = r.int(4);
    return out;
  },
  // overload pointing at fields full of garbage, or at fields cut short
  (d, r) => {
    const out = Buffer.concat([d.subarray(0, OPTIONS_START + 3), Buffer.from([52, 1, r.int(5), 255])]);
    for (let i = 44; i < 236; i++) out[i] = r.int(256);
    if (r.int(2) === 0) return out;
    out[108 + 127] = 1 + r.int(254);
    return out;
  },
  // overload with a bad length
  (d, r) => Buffer.concat([d.subarray(0, OPTIONS_START + 3), Buffer.from([52, r.int(4), 1, 2, 255])]),
  // random bytes over the options, the message type kept
  (d, r) => {
    const out = Buffer.concat([d.subarray(0, OPTIONS_START + 3), Buffer.alloc(r.int(300))]);
    for (let i = OPTIONS_START + 3; i < out.length; i++) out[i] = r.int(256);
    return out;
  },
  // random bytes anywhere in a valid message
  (d, r) => {
    const out = Buffer.from(d);
    for (let n = r.int(8) + 1; n > 0; n--) out[r.int(out.length)] = r.int(256);
    return out;
  },
  // pure noise
  (_d, r) => Buffer.from(Array.from({ length: r.int(600) }, () => r.int(256))),
];

/** The n-th malformed (or at least mangled) datagram of a seeded sequence. */
export function* malformedDatagrams(count: number, seed = 0x5eed): Generator<Buffer> {
  const random = seededRandom(seed);
  for (let i = 0; i < count; i++) {
    const base = VALID[random.int(VALID.length)]!;
    yield MUTATIONS[random.int(MUTATIONS.length)]!(base, random);
  }
}
