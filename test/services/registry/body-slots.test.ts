import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { get, type IncomingMessage } from "node:http";
import { test } from "node:test";
import { setImmediate as turn } from "node:timers/promises";
import { createBodySlots } from "../../../src/services/registry/body-slots.js";
import { client, pushBlob, sha, testRegistry } from "./harness.js";

const never = () => new AbortController().signal;

/** Lets every pending promise callback run, then tells which of `waits` have resolved. */
async function settled(waits: Promise<unknown>[]): Promise<boolean[]> {
  const done = waits.map(() => false);
  waits.forEach((wait, i) => {
    wait.then(() => (done[i] = true)).catch(() => undefined);
  });
  for (let i = 0; i < 10; i++) await turn();
  return done;
}

test("one client gets `limit` bodies at once, the rest in the order asked, as earlier ones finish", async () => {
  const slots = createBodySlots({ limit: 2, stallMs: 60_000 });
  const first = await slots.acquire("10.0.0.1", never());
  const second = await slots.acquire("10.0.0.1", never());
  const third = slots.acquire("10.0.0.1", never());
  const fourth = slots.acquire("10.0.0.1", never());
  assert.deepEqual(await settled([third, fourth]), [false, false]);
  second.release();
  assert.deepEqual(await settled([third, fourth]), [true, false]);
  second.release(); // twice is once
  assert.deepEqual(await settled([fourth]), [false]);
  first.release();
  assert.deepEqual(await settled([fourth]), [true]);
  (await third).release();
  (await fourth).release();
});

test("clients at different addresses never wait for each other", async () => {
  const slots = createBodySlots({ limit: 1, stallMs: 60_000 });
  const held = await slots.acquire("10.0.0.1", never());
  const other = slots.acquire("10.0.0.2", never());
  assert.deepEqual(await settled([other]), [true]);
  held.release();
  (await other).release();
});

test("a request withdrawn while waiting is skipped and gets no slot", async () => {
  const slots = createBodySlots({ limit: 1, stallMs: 60_000 });
  const held = await slots.acquire("10.0.0.1", never());
  const leaving = new AbortController();
  const withdrawn = slots.acquire("10.0.0.1", leaving.signal);
  const next = slots.acquire("10.0.0.1", never());
  leaving.abort(new Error("client closed the connection"));
  await assert.rejects(withdrawn, /client closed/);
  held.release();
  assert.deepEqual(await settled([next]), [true]);
  (await next).release();
});

test("when a client's bodies stop moving, its next body starts anyway", async () => {
  const slots = createBodySlots({ limit: 1, stallMs: 50 });
  const stalled = await slots.acquire("10.0.0.1", never());
  // The slots' own timer does not hold the process open (a server's sockets do); this test must.
  const keepAlive = setInterval(() => {}, 1000);
  try {
    // Never released and never progressing: only the stall rule can admit this one.
    const next = await slots.acquire("10.0.0.1", never());
    next.release();
  } finally {
    clearInterval(keepAlive);
  }
  stalled.release();
});

test("a client that holds three large bodies unread still receives a fourth", async (t) => {
  const { registry, base } = await testRegistry(t);
  const http = client(base);
  const blobs = [];
  for (let i = 0; i < 4; i++) blobs.push(await pushBlob(http, "slots/app", randomBytes(24 * 1024 * 1024)));
  const url = (digest: string) => `http://${registry.addresses[0]}/v2/slots/app/blobs/${digest}`;
  const held: IncomingMessage[] = [];
  try {
    for (const digest of blobs.slice(0, 3)) {
      held.push(await new Promise<IncomingMessage>((resolve, reject) => get(url(digest), resolve).on("error", reject)));
    }
    for (const res of held) res.pause();
    // The three are paused mid-body (their socket buffers full): the fourth gets its turn by the stall rule.
    const fourth = await http(`/v2/slots/app/blobs/${blobs[3]}`);
    assert.equal(fourth.status, 200);
    assert.equal(sha(new Uint8Array(await fourth.arrayBuffer())), blobs[3]);
  } finally {
    // Before the registry closes: it waits for open responses to end.
    for (const res of held) res.destroy();
  }
});
