import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import { silentEvents } from "../../../src/events.js";
import { bulkBuffers } from "../../../src/services/lb/proxy/flow.js";
import { startLoadBalancer } from "../../../src/services/lb/service.js";
import { startBackends } from "../../peers/tcp-backend.js";
import { lbConfigFor, sleep, split, testBothPaths, waitFor, withTimeout } from "./helpers.js";

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/** A half-open client of the balancer that collects everything it receives. */
function collectingClient(t: { after(fn: () => unknown): void }, endpoint: string) {
  const socket = net.connect({ ...split(endpoint), allowHalfOpen: true });
  t.after(() => socket.destroy());
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    socket.once("end", resolve);
    socket.once("error", reject);
  });
  return { socket, ended, received: () => Buffer.concat(chunks) };
}

// Bulk directions switch to a reused read buffer: every byte must still arrive once, in order,
// while writes back up (the echo makes both directions bulk at once).
testBothPaths("bulk both ways through the reused read buffers: 24 MiB echoed intact, then half-close", async (t) => {
  const [backend] = await startBackends([{ name: "a", address: "127.0.0.2" }]);
  t.after(() => backend!.kill());
  const lb = await startLoadBalancer(lbConfigFor([backend!]), silentEvents);
  t.after(() => lb.close());
  const payload = randomBytes(24 * 1024 * 1024);
  const { socket, ended, received: receivedAll } = collectingClient(t, lb.listenerAddress("test"));
  // Uneven writes, so reads on the proxy see every size from a few bytes to full buffers.
  for (let offset = 0, size = 1; offset < payload.length; size = (size * 7 + 13) % (512 * 1024)) {
    const end = Math.min(offset + size + 1, payload.length);
    if (!socket.write(payload.subarray(offset, end))) await new Promise((resolve) => socket.once("drain", resolve));
    offset = end;
  }
  socket.end();
  await withTimeout(ended, 60_000, "echo of 24 MiB");
  const received = receivedAll();
  const greeting = Buffer.from("a\n");
  const bye = Buffer.from(`bye ${payload.length}\n`);
  assert.equal(received.length, greeting.length + payload.length + bye.length);
  assert.deepEqual(received.subarray(0, greeting.length), greeting);
  assert.equal(sha256(received.subarray(greeting.length, greeting.length + payload.length)), sha256(payload));
  assert.deepEqual(received.subarray(greeting.length + payload.length), bye);
});

// The handle path's bulk buffers are lent from one pool while data moves: a connection that stays
// open but goes quiet gives them back (10,000 quiet connections hold none).
testBothPaths("a bulk connection that goes idle gives its read buffers back while it stays open", async (t, path) => {
  const [backend] = await startBackends([{ name: "a", address: "127.0.0.2" }]);
  t.after(() => backend!.kill());
  const lb = await startLoadBalancer(lbConfigFor([backend!]), silentEvents);
  t.after(() => lb.close());
  const { socket, received } = collectingClient(t, lb.listenerAddress("test"));
  const payload = randomBytes(4 * 1024 * 1024);
  socket.write(payload);
  await waitFor(() => received().length >= payload.length + 2, "the echo of 4 MiB", 30_000);
  if (path === "handles") {
    assert.ok(bulkBuffers.lent > 0, "bulk directions borrowed buffers");
    await waitFor(() => bulkBuffers.lent === 0, "the quiet connection's buffers back in the pool", 10_000);
  }
  assert.equal(socket.destroyed, false, "the connection is still open");
  socket.write("still here\n");
  await waitFor(() => received().toString().endsWith("still here\n"), "an echo after the quiet time");
});

// Every connection reads into one buffer shared by all of them until it carries bulk data, and a
// chunk is copied out of it before it is written: a write the kernel cannot take at once (here:
// to a backend that stopped reading) must not see its bytes overwritten by the other connections'
// reads while it waits. Small paced writes keep the stalled direction off its own bulk buffer.
testBothPaths(
  "the shared read buffer: a stalled write keeps its bytes while other connections flow; everyone gets their own bytes back",
  async (t) => {
    const backends = await startBackends([
      { name: "a", address: "127.0.0.2" },
      { name: "b", address: "127.0.0.3" },
    ]);
    t.after(async () => {
      for (const backend of backends) backend.thaw();
      await Promise.all(backends.map((b) => b.kill()));
    });
    const lb = await startLoadBalancer(lbConfigFor(backends), silentEvents);
    t.after(() => lb.close());
    await waitFor(() => lb.health().listeners[0]!.backends.every((b) => b.state === "up"), "both up");
    const open = async () => {
      const client = collectingClient(t, lb.listenerAddress("test"));
      await new Promise((resolve) => client.socket.once("connect", resolve));
      return client;
    };
    const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
    const answer = (name: string, payload: Buffer) =>
      Buffer.concat([Buffer.from(`${name}\n`), payload, Buffer.from(`bye ${payload.length}\n`)]);

    const stalled = await open();
    await waitFor(() => stalled.received().length >= 2, "greeting");
    const stalledName = stalled.received().subarray(0, 1).toString();
    backends.find((b) => b.name === stalledName)!.freeze();
    // Hex never contains the backend's commands ("shut", "flood", "stop"). Written until the path
    // is full: how much that takes depends on the kernel's buffer limits (tcp_rmem's maximum is
    // 32 MiB on some machines), so the payload is as long as it needs to be, up to 256 MiB.
    const stalledChunks: Buffer[] = [];
    let full = false;
    for (let written = 0; !full && written < 256 * 1024 * 1024; ) {
      const chunk = Buffer.from(randomBytes(2000).toString("hex"));
      stalledChunks.push(chunk);
      written += chunk.length;
      full = !stalled.socket.write(chunk);
      await nextTurn();
    }
    const stalledPayload = Buffer.concat(stalledChunks);
    stalled.socket.end();
    assert.ok(full, "the path to the stopped backend never filled up");

    const echo = async (index: number) => {
      const payload = Buffer.from(randomBytes(40_000 + index * 7_919).toString("hex"));
      const client = await open();
      for (let offset = 0, size = 1 + index; offset < payload.length; size = (size * 5 + 11) % 9_000) {
        const end = Math.min(offset + size + 1, payload.length);
        if (!client.socket.write(payload.subarray(offset, end))) {
          await new Promise((resolve) => client.socket.once("drain", resolve));
        }
        offset = end;
      }
      client.socket.end();
      await withTimeout(client.ended, 30_000, `echo on connection ${index}`);
      return { payload, received: client.received() };
    };
    const echoes = Promise.all(Array.from({ length: 16 }, (_, index) => echo(index)));
    // Least connections sends some of these to the stopped backend too: they finish after it resumes.
    await sleep(500);
    backends.find((b) => b.name === stalledName)!.thaw();
    for (const [index, { payload, received }] of (await echoes).entries()) {
      const name = received.subarray(0, 1).toString();
      assert.equal(sha256(received), sha256(answer(name, payload)), `connection ${index}`);
    }
    await withTimeout(stalled.ended, 30_000, "the stalled connection's echo");
    assert.equal(stalled.received().length, answer(stalledName, stalledPayload).length, "stalled connection: length");
    assert.equal(
      sha256(stalled.received()),
      sha256(answer(stalledName, stalledPayload)),
      "stalled connection: content",
    );
  },
);
