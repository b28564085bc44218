import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ObjectStore } from "../../../src/lab/sim-distro/store.js";

test("copies converge whatever order the writes arrive in", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          server: fc.constantFrom("a", "b", "c"),
          key: fc.constantFrom("k1", "k2"),
          value: fc.integer(),
          del: fc.boolean(),
        }),
        {
          maxLength: 30,
        },
      ),
      (writes) => {
        const origins = { a: new ObjectStore("a"), b: new ObjectStore("b"), c: new ObjectStore("c") };
        for (const write of writes) {
          const store = origins[write.server as "a" | "b" | "c"];
          if (write.del) store.delete(write.key);
          else store.put(write.key, { metadata: { name: write.key }, value: write.value });
        }
        const all = [...origins.a.snapshot(), ...origins.b.snapshot(), ...origins.c.snapshot()];
        const forward = new ObjectStore("x");
        forward.merge(all);
        const backward = new ObjectStore("y");
        backward.merge([...all].reverse());
        assert.deepEqual(forward.list(""), backward.list(""));
      },
    ),
  );
});

test("a write after a merge wins over what was merged", () => {
  const a = new ObjectStore("a");
  const b = new ObjectStore("b");
  a.put("k", { value: 1 });
  b.merge(a.snapshot());
  b.put("k", { value: 2 });
  a.merge(b.snapshot());
  assert.equal(a.get("k")?.value, 2);
  b.delete("k");
  a.merge(b.snapshot());
  assert.equal(a.get("k"), undefined);
});
