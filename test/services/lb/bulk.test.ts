import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import { test } from "node:test";
import { silentEvents } from "../../../src/events.js";
import { startLoadBalancer } from "../../../src/services/lb/load-balancer.js";
import { startBackends } from "../../peers/tcp-backend.js";
import { lbConfigFor, split, withTimeout } from "./helpers.js";

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

// Bulk directions switch to a reused read buffer: every byte must still arrive once, in order,
// while writes back up (the echo makes both directions bulk at once).
test("bulk both ways through the reused read buffers: 24 MiB echoed intact, then half-close", async (t) => {
  const [backend] = await startBackends([{ name: "a", address: "127.0.0.2" }]);
  t.after(() => backend!.kill());
  const lb = await startLoadBalancer(lbConfigFor([backend!]), silentEvents);
  t.after(() => lb.close());
  const payload = randomBytes(24 * 1024 * 1024);
  const socket = net.connect({ ...split(lb.listenerAddress("test")), allowHalfOpen: true });
  t.after(() => socket.destroy());
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    socket.once("end", resolve);
    socket.once("error", reject);
  });
  // Uneven writes, so reads on the proxy see every size from a few bytes to full buffers.
  for (let offset = 0, size = 1; offset < payload.length; size = (size * 7 + 13) % (512 * 1024)) {
    const end = Math.min(offset + size + 1, payload.length);
    if (!socket.write(payload.subarray(offset, end))) await new Promise((resolve) => socket.once("drain", resolve));
    offset = end;
  }
  socket.end();
  await withTimeout(ended, 60_000, "echo of 24 MiB");
  const received = Buffer.concat(chunks);
  const greeting = Buffer.from("a\n");
  const bye = Buffer.from(`bye ${payload.length}\n`);
  assert.equal(received.length, greeting.length + payload.length + bye.length);
  assert.deepEqual(received.subarray(0, greeting.length), greeting);
  assert.equal(sha256(received.subarray(greeting.length, greeting.length + payload.length)), sha256(payload));
  assert.deepEqual(received.subarray(greeting.length + payload.length), bye);
});
