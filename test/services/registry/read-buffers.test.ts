import assert from "node:assert/strict";
import { test } from "node:test";
import {
  createReadBuffers,
  ROOMY_BUFFER_BYTES,
  TIGHT_BUFFER_BYTES,
} from "../../../src/services/registry/read-buffers.js";

const MiB = 1 << 20;
const sizes = (buffers: Buffer[]) => buffers.map((buffer) => buffer.length);

test("the first large bodies get two roomy buffers, later ones and small ones one tight buffer", () => {
  const pool = createReadBuffers({ roomyBodies: 2, maxFreeBytes: 4 * MiB });
  assert.deepEqual(sizes(pool.lend(1000)), [TIGHT_BUFFER_BYTES]);
  const first = pool.lend(256 * MiB);
  assert.deepEqual(sizes(first), [ROOMY_BUFFER_BYTES, ROOMY_BUFFER_BYTES]);
  assert.deepEqual(sizes(pool.lend(256 * MiB)), [ROOMY_BUFFER_BYTES, ROOMY_BUFFER_BYTES]);
  assert.deepEqual(sizes(pool.lend(256 * MiB)), [TIGHT_BUFFER_BYTES]);
  pool.giveBack(first, true);
  const next = pool.lend(256 * MiB);
  assert.deepEqual(sizes(next), [ROOMY_BUFFER_BYTES, ROOMY_BUFFER_BYTES]);
  assert.ok(next.includes(first[0]!) && next.includes(first[1]!), "the given-back buffers are lent again");
});

test("buffers whose writes may still be queued are never lent again; unused ones are bounded", () => {
  const pool = createReadBuffers({ roomyBodies: 4, maxFreeBytes: 2 * ROOMY_BUFFER_BYTES });
  const abandoned = pool.lend(8 * MiB);
  pool.giveBack(abandoned, false);
  const fresh = pool.lend(8 * MiB);
  assert.ok(!fresh.includes(abandoned[0]!) && !fresh.includes(abandoned[1]!));
  const more = pool.lend(8 * MiB);
  pool.giveBack(fresh, true);
  pool.giveBack(more, true);
  const kept = [...pool.lend(8 * MiB), ...pool.lend(8 * MiB)];
  const reused = kept.filter((buffer) => fresh.includes(buffer) || more.includes(buffer));
  assert.equal(reused.length, 2, "only two buffers' worth was kept unused");
});
