import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { connect } from "node:net";
import { after, before, test } from "node:test";
import { silentEvents } from "../../../src/events.js";
import type { DnsConfig } from "../../../src/services/dns/config.js";
import { startDns } from "../../../src/services/dns/service.js";
import type { RunningService } from "../../../src/services/service.js";
import { type SeededRandom, seededRandom } from "../../helpers/seeded-random.js";
import { dig, serverOf } from "../../peers/dig.js";
import { startUnbound, type Unbound } from "../../peers/unbound.js";
import { siteConfig } from "./fixture.js";
import { rawQuery } from "./raw-client.js";

/**
 * At least 100,000 random and mutated packets over UDP and TCP: the server never crashes, every
 * reply is a well-formed response (checked here by a parser of the test's own), and valid
 * queries are answered afterwards.
 */

const UDP_PACKETS = 90_000;
const TCP_PACKETS = 12_000;

const SEEDS = [
  rawQuery(1, "git.edge.lan", 1),
  rawQuery(2, "grafana.apps.edge.lan", 28),
  rawQuery(3, "edge.lan", 255),
  rawQuery(4, "_ldap._tcp.edge.lan", 33),
  rawQuery(5, "11.0.77.10.in-addr.arpa", 12),
  rawQuery(6, "www.upstream.test", 1),
  rawQuery(7, "big.edge.lan", 16),
  // With EDNS (OPT, version 0, payload 1232, DO) and with an unknown option.
  Buffer.concat([
    rawQuery(8, "mid.edge.lan", 16).fill(1, 11, 12),
    Buffer.from([0, 0, 41, 4, 208, 0, 0, 0x80, 0, 0, 6, 0xfd, 0xe8, 0, 2, 0xab, 0xcd]),
  ]),
];

function packet(rng: SeededRandom): Buffer {
  const kind = rng.int(10);
  if (kind === 0) {
    const bytes = Buffer.alloc(rng.int(600));
    for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256);
    return bytes;
  }
  const base = Buffer.from(SEEDS[rng.int(SEEDS.length)]!);
  base.writeUInt16BE(rng.int(0x10000), 0);
  if (kind === 1) return base; // valid
  const mutations = 1 + rng.int(4);
  let out = base;
  for (let m = 0; m < mutations; m++) {
    const choice = rng.int(6);
    if (choice === 0 && out.length > 0) out[rng.int(out.length)] = rng.int(256);
    else if (choice === 1 && out.length > 0) out[rng.int(out.length)]! ^= 1 << rng.int(8);
    else if (choice === 2) out = out.subarray(0, rng.int(out.length + 1));
    else if (choice === 3)
      out = Buffer.concat([out, Buffer.from(Array.from({ length: rng.int(40) }, () => rng.int(256)))]);
    else if (choice === 4 && out.length >= 12) out.writeUInt16BE(rng.int(4), 4 + 2 * rng.int(4));
    else if (choice === 5 && out.length >= 4) out[2] = rng.int(256) & 0x7f; // any opcode and flags, still a query
  }
  return out;
}

/** The test's own strict reader: the reply must be a complete, self-consistent DNS response. */
function wellFormedResponse(message: Buffer): string | undefined {
  if (message.length < 12) return "shorter than a header";
  if ((message[2]! & 0x80) === 0) return "QR not set";
  const counts = [4, 6, 8, 10].map((o) => message.readUInt16BE(o));
  let offset = 12;
  const name = (): boolean => {
    for (let hops = 0; hops < 128; hops++) {
      if (offset >= message.length) return false;
      const length = message[offset]!;
      if (length === 0) {
        offset += 1;
        return true;
      }
      if ((length & 0xc0) === 0xc0) {
        if (offset + 2 > message.length) return false;
        const target = ((length & 0x3f) << 8) | message[offset + 1]!;
        if (target >= offset) return false;
        offset += 2;
        return true;
      }
      if ((length & 0xc0) !== 0) return false;
      offset += 1 + length;
    }
    return false;
  };
  for (let q = 0; q < counts[0]!; q++) {
    if (!name() || offset + 4 > message.length) return "bad question";
    offset += 4;
  }
  for (let r = 0; r < counts[1]! + counts[2]! + counts[3]!; r++) {
    if (!name() || offset + 10 > message.length) return "bad record header";
    offset += 10 + message.readUInt16BE(offset + 8);
    if (offset > message.length) return "record runs past the end";
  }
  if (offset !== message.length) return "trailing bytes";
  const rcode = message[3]! & 0x0f;
  if (![0, 1, 2, 3, 4, 5].includes(rcode)) return `unexpected rcode ${rcode}`;
  return undefined;
}

let unbound: Unbound;
let dns: RunningService<DnsConfig>;
before(async () => {
  unbound = await startUnbound({
    address: "127.0.0.96",
    zones: { "upstream.test.": ["www.upstream.test. 300 IN A 192.0.2.10"] },
  });
  dns = await startDns(
    siteConfig({
      listen: [{ address: "127.0.0.97", port: 0 }],
      upstreams: [serverOf(unbound.endpoint)],
      upstreamTimeoutMs: 500,
    }),
    silentEvents,
  );
});
after(async () => {
  await dns.close();
  await unbound.stop();
});

test(`${UDP_PACKETS} random and mutated UDP packets: only well-formed responses, server keeps answering`, async () => {
  const { address, port } = serverOf(dns.addresses[0]!);
  const rng = seededRandom(0xa1257a9);
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind({ address: "127.0.0.97", port: 0 }, () => resolve()));
  const problems: string[] = [];
  let replies = 0;
  socket.on("message", (reply) => {
    replies += 1;
    const problem = wellFormedResponse(reply);
    if (problem && problems.length < 10) problems.push(`${problem}: ${reply.toString("hex")}`);
  });
  let queriesSent = 0;
  for (let sent = 0; sent < UDP_PACKETS; ) {
    for (let burst = 0; burst < 200 && sent < UDP_PACKETS; burst++, sent++) {
      const message = packet(rng);
      if (message.length >= 12 && (message[2]! & 0x80) === 0) queriesSent += 1;
      socket.send(message, port, address);
    }
    await new Promise((resolve) => setTimeout(resolve, 4));
  }
  await new Promise((resolve) => setTimeout(resolve, 1500));
  socket.close();
  assert.deepEqual(problems, []);
  assert.ok(replies > UDP_PACKETS / 4, `only ${replies} replies`);
  // Never more replies than queries: responses and runts are dropped, not answered.
  assert.ok(replies <= queriesSent, `${replies} replies to ${queriesSent} queries`);
  assert.equal((await dig(dns.addresses[0]!, "git.edge.lan")).answer.length, 2);
  assert.equal((await dig(dns.addresses[0]!, "www.upstream.test")).answer[0]?.data, "192.0.2.10");
});

test(`${TCP_PACKETS} random and mutated TCP messages over many connections: well-formed responses only`, async () => {
  const { address, port } = serverOf(dns.addresses[0]!);
  const rng = seededRandom(0x7cb00d);
  const problems: string[] = [];
  let replies = 0;
  const perConnection = 200;
  const connections = TCP_PACKETS / perConnection;
  const runConnection = () =>
    new Promise<void>((resolve) => {
      const socket = connect({ host: address, port });
      let buffered = Buffer.alloc(0);
      const finish = () => {
        clearTimeout(timer);
        socket.destroy();
        resolve();
      };
      const timer = setTimeout(finish, 3000);
      socket.on("error", finish);
      socket.on("close", finish);
      socket.on("data", (chunk) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
          const reply = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
          buffered = buffered.subarray(2 + reply.length);
          replies += 1;
          const problem = wellFormedResponse(reply);
          if (problem && problems.length < 10) problems.push(`${problem}: ${reply.toString("hex")}`);
        }
      });
      socket.on("connect", () => {
        const frames: Buffer[] = [];
        for (let i = 0; i < perConnection; i++) {
          const message = packet(rng);
          frames.push(Buffer.from([message.length >> 8, message.length & 0xff]), message);
        }
        // One connection in eight ends with a frame that lies about its length.
        if (rng.int(8) === 0) frames.push(Buffer.from([0xff, 0xff, 1, 2, 3]));
        socket.write(Buffer.concat(frames));
        socket.end();
      });
    });
  for (let batch = 0; batch < connections; batch += 10) {
    await Promise.all(Array.from({ length: Math.min(10, connections - batch) }, runConnection));
  }
  assert.deepEqual(problems, []);
  assert.ok(replies > TCP_PACKETS / 4, `only ${replies} replies`);
  assert.equal((await dig(dns.addresses[0]!, "git.edge.lan", "A", ["+tcp"])).answer.length, 2);
  assert.equal((await dig(dns.addresses[0]!, "edge.lan", "SOA")).status, "NOERROR");
});
