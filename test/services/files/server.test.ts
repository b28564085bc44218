import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type AirstrapEvent, createEvents } from "../../../src/events.js";
import { startFileServer } from "../../../src/services/files/service.js";

const errorsTotal = (metrics: string) => Number(/^airstrap_files_errors_total (\d+)$/m.exec(metrics)?.[1]);

test("a file the server cannot read is a 500 the operator hears of: an event and a counter", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "airstrap-files-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // A directory where the file should be: stat() succeeds, the read fails with EISDIR (even as root).
  const broken = join(dir, "broken");
  mkdirSync(broken);
  const fine = join(dir, "fine");
  writeFileSync(fine, "hello\n");
  const brokenSha = "b".repeat(64);
  const fineSha = "f".repeat(64);
  const events = createEvents();
  const seen: AirstrapEvent[] = [];
  events.subscribe((event) => seen.push(event));
  const server = await startFileServer(
    {
      address: "127.0.0.1",
      port: 0,
      files: [
        { sha256: brokenSha, path: broken },
        { sha256: fineSha, path: fine },
      ],
      allowedNetworks: ["127.0.0.0/8"],
    },
    events,
  );
  t.after(() => server.close());
  const base = `http://${server.addresses[0]}`;

  assert.equal(errorsTotal(server.metrics()), 0);
  const ok = await fetch(`${base}/files/${fineSha}`);
  assert.equal(await ok.text(), "hello\n");
  const missing = await fetch(`${base}/files/${"c".repeat(64)}`);
  assert.equal(missing.status, 404);
  await missing.text();
  assert.equal(errorsTotal(server.metrics()), 0, "a 404 is the client's mistake, not a server error");

  const failed = await fetch(`${base}/files/${brokenSha}`);
  assert.equal(failed.status, 500);
  await failed.text();
  assert.equal(errorsTotal(server.metrics()), 1);
  const errors = seen.filter((event) => event.kind === "files.error");
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.level, "error");
  assert.match(errors[0]!.message, new RegExp(`GET /files/${brokenSha} from 127\\.0\\.0\\.1 failed: .*EISDIR`));
});
