import assert from "node:assert/strict";
import { test } from "node:test";
import { type Borrower, BufferPool } from "../../../src/services/lb/proxy/buffer-pool.js";

test("the pool lends at most maxBuffers at once, reuses what comes back, and sweeps only its borrowers", () => {
  const pool = new BufferPool(1024, 2, 1, 60_000);
  const swept: string[] = [];
  const borrower = (name: string): Borrower => ({ sweep: () => swept.push(name) });
  const [a, b, c] = [borrower("a"), borrower("b"), borrower("c")];
  const first = pool.take(a)!;
  const second = pool.take(b)!;
  assert.equal(first.length, 1024);
  assert.equal(pool.take(c), undefined, "all lent: the third borrower copies instead");
  assert.equal(pool.lent, 2);
  pool.give(a, first);
  pool.give(a, first);
  assert.equal(pool.lent, 1, "giving back twice frees one slot once");
  assert.equal(pool.take(c), first, "a buffer given back is lent again");
  (pool as unknown as { sweep(): void }).sweep();
  assert.deepEqual(swept.sort(), ["b", "c"]);
  pool.give(b, second);
  pool.give(c, first);
  assert.equal(pool.lent, 0);
});
