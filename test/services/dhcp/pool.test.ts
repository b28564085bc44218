import assert from "node:assert/strict";
import { test } from "node:test";
import { answer } from "../../../src/services/dhcp/answer.js";
import { compileAnswerTable } from "../../../src/services/dhcp/answer-table.js";
import { LeaseBook, OFFER_HOLD_MS } from "../../../src/services/dhcp/lease-book.js";
import { decodeMessage, MessageType } from "../../../src/services/dhcp/wire.js";
import { dhcpConfig, KNOWN_MAC, pxeDiscover, request, UNKNOWN_MAC } from "./fixture.js";

const POOL_MAC = "52:54:00:00:00:77";
const OTHER_POOL_MAC = "52:54:00:00:00:78";

test("lease book: offers the first free address, keeps it for its MAC, frees it on expiry, release and decline", () => {
  const book = new LeaseBook({ start: "10.200.0.11", end: "10.200.0.13" }, new Set(["10.200.0.11"]));
  assert.equal(book.view(0).addressFor(POOL_MAC), "10.200.0.12");
  book.record(POOL_MAC, "10.200.0.12", 0, OFFER_HOLD_MS);
  assert.equal(book.view(1).addressFor(OTHER_POOL_MAC), "10.200.0.13");
  assert.equal(book.view(1).mayHold(OTHER_POOL_MAC, "10.200.0.12"), false);
  assert.equal(book.view(1).mayHold(POOL_MAC, "10.200.0.13"), false, "a MAC holding a lease may not take another");
  book.record(OTHER_POOL_MAC, "10.200.0.13", 0, 1000);
  assert.equal(book.view(2).addressFor("52:54:00:00:00:79"), undefined, "exhausted");
  assert.equal(book.view(OFFER_HOLD_MS + 1).addressFor("52:54:00:00:00:79"), "10.200.0.12", "the offer expired");
  book.release(OTHER_POOL_MAC);
  assert.equal(book.view(3).mayHold(POOL_MAC, "10.200.0.12"), true);
  book.decline(POOL_MAC, "10.200.0.12", 3, 10_000);
  assert.equal(book.view(4).addressFor(POOL_MAC), "10.200.0.13");
  assert.equal(book.view(10_004).addressFor(POOL_MAC), "10.200.0.12");
});

test("full mode with a pool: known MACs without a reservation get pool addresses; unknown MACs still nothing", () => {
  const config = dhcpConfig({ knownMacs: [POOL_MAC], pool: { start: "10.200.0.100", end: "10.200.0.101" } });
  const table = compileAnswerTable(config);
  const book = new LeaseBook(config.pool!, new Set(config.reservations.map((r) => r.address)));
  const client = { address: "0.0.0.0", port: 68 };
  const ask = (datagram: Buffer) => answer(table, decodeMessage(datagram), "dhcp", client, book.view(0));
  const offer = ask(pxeDiscover({ mac: POOL_MAC }));
  assert.equal(offer.kind === "reply" && offer.step, "offer");
  assert.deepEqual(offer.kind === "reply" && offer.lease, { address: "10.200.0.100", acknowledged: false });
  book.record(POOL_MAC, "10.200.0.100", 0, OFFER_HOLD_MS);
  const ack = ask(
    request({ type: MessageType.REQUEST, mac: POOL_MAC, serverId: "10.200.0.1", requested: "10.200.0.100" }),
  );
  assert.deepEqual(ack.kind === "reply" && [ack.step, ack.lease], [
    "ack",
    { address: "10.200.0.100", acknowledged: true },
  ]);
  const wrong = ask(request({ type: MessageType.REQUEST, mac: POOL_MAC, requested: "10.200.0.101" }));
  assert.equal(wrong.kind === "reply" && wrong.step, "nak");
  // Reserved machines keep their reservation and carry no pool lease; strangers stay unanswered.
  const reserved = ask(pxeDiscover({ mac: KNOWN_MAC }));
  assert.equal(reserved.kind === "reply" && reserved.detail.address, "10.200.0.11");
  assert.equal(reserved.kind === "reply" && reserved.lease, undefined);
  assert.equal(ask(pxeDiscover({ mac: UNKNOWN_MAC })).kind, "ignore");
  // Without a pool, the known MAC gets nothing.
  const noPool = answer(
    compileAnswerTable(dhcpConfig({ knownMacs: [POOL_MAC] })),
    decodeMessage(pxeDiscover({ mac: POOL_MAC })),
    "dhcp",
    client,
  );
  assert.deepEqual(noPool, { kind: "ignore", reason: "no-reservation", mac: POOL_MAC });
});
