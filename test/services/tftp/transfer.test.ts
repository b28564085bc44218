import assert from "node:assert/strict";
import { test } from "node:test";
import { ReadTransfer } from "../../../src/services/tftp/transfer.js";

const shape = { size: 2048, blksize: 512, windowsize: 1, oack: false, retries: 2 };

test("lock-step: one block per ACK; a file of whole blocks ends with an empty block", () => {
  const transfer = new ReadTransfer(shape);
  assert.equal(transfer.lastBlock, 5);
  assert.deepEqual(transfer.start(), { kind: "send", first: 1, last: 1 });
  for (let block = 1; block < 5; block++) {
    assert.deepEqual(transfer.ack(block), { kind: "send", first: block + 1, last: block + 1 });
  }
  assert.deepEqual(transfer.blockRange(5), { offset: 2048, length: 0 });
  assert.deepEqual(transfer.ack(5), { kind: "done" });
  assert.deepEqual(transfer.ack(5), { kind: "ignore" });
});

test("with an OACK, ACK 0 starts the data; other ACKs before it are ignored", () => {
  const transfer = new ReadTransfer({ ...shape, oack: true });
  assert.deepEqual(transfer.start(), { kind: "send-oack" });
  assert.deepEqual(transfer.ack(1), { kind: "ignore" });
  assert.deepEqual(transfer.timeout(), { kind: "send-oack" });
  assert.deepEqual(transfer.ack(0), { kind: "send", first: 1, last: 1 });
});

test("Sorcerer's Apprentice: a duplicate ACK sends nothing; only the timer sends again", () => {
  const transfer = new ReadTransfer(shape);
  transfer.start();
  assert.deepEqual(transfer.ack(1), { kind: "send", first: 2, last: 2 });
  assert.deepEqual(transfer.ack(1), { kind: "ignore" });
  assert.deepEqual(transfer.ack(1), { kind: "ignore" });
  assert.deepEqual(transfer.timeout(), { kind: "send", first: 2, last: 2 });
  assert.equal(transfer.retransmits, 1);
});

test("an ACK for a block never sent is ignored", () => {
  const transfer = new ReadTransfer(shape);
  transfer.start();
  assert.deepEqual(transfer.ack(3), { kind: "ignore" });
  assert.deepEqual(transfer.ack(0), { kind: "ignore" });
});

test("after N timeouts in a row the transfer gives up; progress resets the count", () => {
  const transfer = new ReadTransfer(shape);
  transfer.start();
  transfer.timeout();
  transfer.timeout();
  transfer.ack(1);
  assert.equal(transfer.timeout().kind, "send");
  assert.equal(transfer.timeout().kind, "send");
  assert.deepEqual(transfer.timeout(), { kind: "give-up" });
  assert.deepEqual(transfer.ack(2), { kind: "ignore" });
});

test("windowsize: a window per ACK; an ACK inside the window restarts from the block after it", () => {
  const transfer = new ReadTransfer({ ...shape, size: 10 * 512 + 1, windowsize: 4 });
  assert.deepEqual(transfer.start(), { kind: "send", first: 1, last: 4 });
  assert.deepEqual(transfer.ack(4), { kind: "send", first: 5, last: 8 });
  // Block 7 was lost: the client acknowledges 6.
  assert.deepEqual(transfer.ack(6), { kind: "send", first: 7, last: 10 });
  assert.deepEqual(transfer.ack(6), { kind: "ignore" });
  assert.deepEqual(transfer.timeout(), { kind: "send", first: 7, last: 10 });
  assert.deepEqual(transfer.ack(10), { kind: "send", first: 11, last: 11 });
  assert.deepEqual(transfer.ack(11), { kind: "done" });
});

test("block numbers roll over past 65535 to 0", () => {
  const transfer = new ReadTransfer({ size: 70_000 * 8, blksize: 8, windowsize: 1, oack: false, retries: 1 });
  transfer.start();
  for (let block = 1; block < 65535; block++) transfer.ack(block);
  assert.deepEqual(transfer.ack(65535), { kind: "send", first: 65536, last: 65536 });
  assert.deepEqual(transfer.ack(65535), { kind: "ignore" }, "the old ACK 65535 is a duplicate, not a wrap");
  assert.deepEqual(transfer.ack(0), { kind: "send", first: 65537, last: 65537 });
  assert.deepEqual(transfer.blockRange(65537), { offset: 65536 * 8, length: 8 });
  for (let block = 65537; block <= 70_001; block++) transfer.ack(block & 0xffff);
  assert.equal(transfer.finished, true);
  assert.equal(transfer.bytesAcked, 70_000 * 8);
});

test("a window spanning the rollover maps ACKs on both sides of it", () => {
  const transfer = new ReadTransfer({ size: 70_000 * 8, blksize: 8, windowsize: 7, oack: true, retries: 1 });
  transfer.start();
  let last = 0;
  let step = transfer.ack(0);
  while (step.kind === "send" && step.last < 65540) {
    last = step.last;
    step = transfer.ack(last & 0xffff);
  }
  assert.equal(step.kind, "send");
  if (step.kind === "send") {
    assert.ok(step.first <= 65536 && step.last >= 65537, `window ${step.first}..${step.last}`);
    assert.deepEqual(transfer.ack(1), { kind: "send", first: 65538, last: 65544 });
  }
});
