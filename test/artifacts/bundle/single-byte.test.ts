import assert from "node:assert/strict";
import { open } from "node:fs/promises";
import { basename, join } from "node:path";
import { test } from "node:test";
import { createBundle } from "../../../src/artifacts/bundle/create.js";
import { BundleDamageError } from "../../../src/artifacts/bundle/damage.js";
import { INDEX_ENTRY, SIGNATURE_ENTRY } from "../../../src/artifacts/bundle/format.js";
import { loadOrCreateSigningKey } from "../../../src/artifacts/bundle/signing.js";
import { trustKey } from "../../../src/artifacts/bundle/trust.js";
import { verifyBundle } from "../../../src/artifacts/bundle/verify.js";
import { silentEvents } from "../../../src/events.js";
import { addFile, newStore, random, tempDir } from "./fixtures.js";

test("every single-byte change in every part is detected and names its entry and part", async (t) => {
  const store = await newStore(t, "flip");
  // Sizes chosen so entries cross part boundaries and leave padding: 5000 spans two 4 KiB parts.
  const files = [
    await addFile(store, "k3s", random(5000)),
    await addFile(store, "install.sh", random(333)),
    await addFile(store, "sha256sum-amd64.txt", random(1)),
  ];
  const dir = await tempDir(t, "flip");
  const key = await loadOrCreateSigningKey(join(dir, "state"));
  const output = join(dir, "tiny.bundle");
  const partSize = 4096;
  const created = await createBundle({
    store,
    output,
    partSize,
    content: { files, images: [] },
    manifest: { file: "cluster.yaml", text: "x", cluster: "tiny" },
    signingKey: key,
    events: silentEvents,
  });
  const head = (await verifyBundle([output], trustKey(key.publicKey), silentEvents)).head;
  assert.ok(created.parts.length >= 3, `${created.parts.length} parts`);
  assert.ok(
    head.index.entries.some((e) => e.segments !== undefined),
    "an entry crosses a part boundary",
  );

  const expectedEntry = (offset: number): string => {
    if (offset < head.layout.signatureOffset) return INDEX_ENTRY;
    if (offset < head.layout.entryOffsets[0]!) return SIGNATURE_ENTRY;
    if (offset >= head.layout.endOffset) return "end of archive";
    let found = "";
    head.layout.entryOffsets.forEach((start, i) => {
      if (offset >= start) found = head.index.entries[i]!.path;
    });
    return found;
  };

  let checked = 0;
  for (const [partIndex, part] of created.parts.entries()) {
    const handle = await open(part.path, "r+");
    try {
      for (let i = 0; i < part.size; i++) {
        const original = Buffer.alloc(1);
        await handle.read(original, 0, 1, i);
        await handle.write(Buffer.from([original[0]! ^ 0xff]), 0, 1, i);
        const offset = partIndex * partSize + i;
        try {
          await verifyBundle([output], trustKey(key.publicKey), silentEvents);
          assert.fail(`a change at byte ${i} of ${basename(part.path)} (stream offset ${offset}) went unnoticed`);
        } catch (error) {
          if (!(error instanceof BundleDamageError)) throw error;
          assert.equal(
            error.entry,
            expectedEntry(offset),
            `entry for byte ${i} of ${basename(part.path)}: ${error.message}`,
          );
          assert.equal(error.part && basename(error.part), basename(part.path), `part for byte ${i}: ${error.message}`);
        } finally {
          await handle.write(original, 0, 1, i);
        }
        checked++;
      }
    } finally {
      await handle.close();
    }
  }
  assert.equal(
    checked,
    created.parts.reduce((sum, p) => sum + p.size, 0),
  );
  await verifyBundle([output], trustKey(key.publicKey), silentEvents);
});
