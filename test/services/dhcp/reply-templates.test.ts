import assert from "node:assert/strict";
import { test } from "node:test";
import { answer, type Decision } from "../../../src/services/dhcp/answer.js";
import { type AnswerTable, compileAnswerTable } from "../../../src/services/dhcp/answer-table.js";
import type { DhcpConfig } from "../../../src/services/dhcp/config.js";
import { LeaseBook } from "../../../src/services/dhcp/lease-book.js";
import { encodeReplyFresh } from "../../../src/services/dhcp/reply.js";
import { encodeReply } from "../../../src/services/dhcp/reply-templates.js";
import { type DhcpMessage, decodeMessage, MessageType } from "../../../src/services/dhcp/wire.js";
import { dhcpConfig, KNOWN_MAC, type RequestShape, request, SECOND_MAC } from "./fixture.js";

/**
 * Replies from templates must be byte-identical to the full encoder's, whatever differs between
 * requests that share a template (xid, flags, ciaddr, giaddr, the bytes after the MAC in chaddr,
 * the UUID) and whatever makes them need different ones.
 */

const POOL_MAC = "52:54:00:00:00:77";

/** A small deterministic generator, so a failure can be replayed. */
function generator(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state;
  };
  return {
    next,
    pick: <T>(list: readonly T[]): T => list[next() % list.length]!,
    bytes: (length: number) => Buffer.from(Array.from({ length }, () => next() & 0xff)),
  };
}

function requestShapes(seed: number, count: number): { shape: RequestShape; arrival: "dhcp" | "pxe" }[] {
  const random = generator(seed);
  const shapes: { shape: RequestShape; arrival: "dhcp" | "pxe" }[] = [];
  for (let i = 0; i < count; i++) {
    const type = random.pick([
      MessageType.DISCOVER,
      MessageType.DISCOVER,
      MessageType.REQUEST,
      MessageType.REQUEST,
      MessageType.INFORM,
    ]);
    const client = random.pick([
      { vendor: "PXEClient:Arch:00000:UNDI:002001", arch: 0 },
      { vendor: "PXEClient:Arch:00007:UNDI:003016", arch: 7 },
      { vendor: "PXEClient:Arch:00007:UNDI:003016", arch: 7, userClass: "iPXE" },
      { vendor: "PXEClient:Arch:00000:UNDI:002001", arch: 0, ipxe: true },
      { vendor: "HTTPClient:Arch:00016", arch: 16 },
      { vendor: "PXEClient:Arch:00011:UNDI:003016", arch: 11 },
      {},
    ]);
    shapes.push({
      arrival: random.pick(["dhcp", "dhcp", "dhcp", "pxe"] as const),
      shape: {
        type,
        mac: random.pick([KNOWN_MAC, SECOND_MAC, POOL_MAC]),
        xid: random.next(),
        flags: random.pick([0, 0x8000, 0x0001]),
        ...random.pick([{}, {}, { giaddr: "10.50.0.1" }, { giaddr: "10.60.0.9" }]),
        ...random.pick([{}, { ciaddr: "10.200.0.11" }, { ciaddr: "10.200.0.40" }, { ciaddr: "192.0.2.7" }]),
        ...random.pick([{}, { serverId: "10.200.0.1" }, { serverId: "10.200.0.77" }]),
        ...random.pick([{}, { requested: "10.200.0.11" }, { requested: "10.200.0.12" }, { requested: "10.200.0.100" }]),
        ...random.pick([{}, { uuid: random.bytes(17) }, { uuid: random.bytes(17) }, { uuid: random.bytes(9) }]),
        ...random.pick([{}, { parameters: [1, 3, 6, 15, 66, 67] }, { parameters: [67] }, { parameters: [66, 1] }]),
        ...client,
      },
    });
  }
  return shapes;
}

/** The request as it arrives, with noise in chaddr past the 6-byte MAC (it is echoed as sent). */
function datagramOf(shape: RequestShape, noise: number): Buffer {
  const datagram = request(shape);
  if (noise % 3 === 0) datagram.writeUInt32BE(noise >>> 0, 36);
  return datagram;
}

const reply = (decision: Decision) => (decision.kind === "reply" ? decision.reply : undefined);

function compare(config: DhcpConfig, seed: number) {
  const shared = compileAnswerTable(config);
  const book = config.pool ? new LeaseBook(config.pool, new Set()) : undefined;
  let replies = 0;
  for (const [index, { shape, arrival }] of requestShapes(seed, 3000).entries()) {
    const datagram = datagramOf(shape, index);
    const from = { address: shape.ciaddr ?? "0.0.0.0", port: 68 };
    const templated = answer(shared, decodeMessage(datagram), arrival, from, book?.view(0));
    // A new table for every request: nothing cached, every reply from the full encoder.
    const fresh = answer(compileAnswerTable(config), decodeMessage(datagram), arrival, from, book?.view(0));
    assert.deepEqual(templated.kind === "reply" ? { ...templated, reply: undefined } : templated, {
      ...fresh,
      ...(fresh.kind === "reply" ? { reply: undefined } : {}),
    });
    const bytes = reply(templated);
    if (bytes === undefined) continue;
    replies += 1;
    assert.ok(bytes.equals(reply(fresh)!), `request ${index} (${JSON.stringify(shape)}): bytes differ`);
  }
  return { replies, templates: shared.templates.size };
}

test("full mode (reservations and a pool): every templated reply equals the full encoder's", () => {
  const config = dhcpConfig({ knownMacs: [POOL_MAC], pool: { start: "10.200.0.100", end: "10.200.0.101" } });
  const { replies, templates } = compare(config, 1);
  assert.ok(replies > 1000, `${replies} replies`);
  assert.ok(templates < replies / 4, `${templates} templates for ${replies} replies: reused`);
});

test("proxy mode: every templated reply equals the full encoder's", () => {
  const { replies, templates } = compare(dhcpConfig({ mode: "proxy", knownMacs: [POOL_MAC] }), 2);
  assert.ok(replies > 500, `${replies} replies`);
  assert.ok(templates < replies / 4, `${templates} templates for ${replies} replies: reused`);
});

test("a template is patched, not returned: two requests sharing one get their own xid, flags, giaddr, chaddr and UUID", () => {
  const table: AnswerTable = compileAnswerTable(dhcpConfig());
  const parts = (_message: DhcpMessage) => ({
    yiaddr: "10.200.0.11",
    lease: true,
    client: { booting: true, vendorClass: "PXEClient" as const, arch: 0, boot: "bios" as const },
    reservation: table.reservations.get(KNOWN_MAC)!,
    bootFile: "undionly.kpxe",
  });
  const first = decodeMessage(
    request({ type: MessageType.DISCOVER, xid: 1, flags: 0x8000, uuid: Buffer.alloc(17, 1), vendor: "PXEClient" }),
  );
  const second = decodeMessage(
    request({
      type: MessageType.DISCOVER,
      xid: 2,
      giaddr: "10.50.0.1",
      uuid: Buffer.alloc(17, 2),
      vendor: "PXEClient",
    }),
  );
  const a = encodeReply(table, first, MessageType.OFFER, parts(first));
  const b = encodeReply(table, second, MessageType.OFFER, parts(second));
  assert.equal(table.templates.size, 1);
  assert.ok(a.equals(encodeReplyFresh(table, first, MessageType.OFFER, parts(first))));
  assert.ok(b.equals(encodeReplyFresh(table, second, MessageType.OFFER, parts(second))));
  assert.notEqual(a, b);
  // A UUID too long for one option is split (RFC 3396): encoded in full, no template.
  const long = decodeMessage(request({ type: MessageType.DISCOVER, uuid: Buffer.alloc(300, 3), vendor: "PXEClient" }));
  assert.ok(
    encodeReply(table, long, MessageType.OFFER, parts(long)).equals(
      encodeReplyFresh(table, long, MessageType.OFFER, parts(long)),
    ),
  );
  assert.equal(table.templates.size, 1);
});
