import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startReleaseMirror } from "../../../src/lab/sim-distro/mirror.js";

const root = mkdtempSync(join(tmpdir(), "airstrap-mirror-"));
let server: Server;
let base: string;

before(async () => {
  mkdirSync(join(root, "rke2", "v1.31.4+rke2r1"), { recursive: true });
  writeFileSync(join(root, "rke2", "v1.31.4+rke2r1", "file.bin"), "0123456789");
  writeFileSync(join(root, "..", "airstrap-mirror-secret"), "x");
  server = await startReleaseMirror(root, "127.0.0.1", 0);
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  rmSync(root, { recursive: true, force: true });
  rmSync(join(root, "..", "airstrap-mirror-secret"), { force: true });
});

test("serves files by their %2B-encoded version path, whole and by byte range", async () => {
  const whole = await fetch(`${base}/rke2/v1.31.4%2Brke2r1/file.bin`);
  assert.equal(whole.status, 200);
  assert.equal(await whole.text(), "0123456789");
  const part = await fetch(`${base}/rke2/v1.31.4%2Brke2r1/file.bin`, { headers: { range: "bytes=4-" } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get("content-range"), "bytes 4-9/10");
  assert.equal(await part.text(), "456789");
  assert.equal(
    (await fetch(`${base}/rke2/v1.31.4%2Brke2r1/file.bin`, { headers: { range: "bytes=20-" } })).status,
    416,
  );
});

test("nothing outside its folder, and nothing but GET and HEAD", async () => {
  assert.equal((await fetch(`${base}/rke2/missing`)).status, 404);
  assert.equal((await fetch(`${base}/..%2Fairstrap-mirror-secret`)).status, 404);
  assert.equal((await fetch(`${base}/rke2/v1.31.4%2Brke2r1/file.bin`, { method: "DELETE" })).status, 405);
});
