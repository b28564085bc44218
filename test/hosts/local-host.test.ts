import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createEvents } from "../../src/events.js";
import { localHost } from "../../src/hosts/local-host.js";
import { partialPath } from "../../src/hosts/upload.js";
import { bufferSource } from "../../src/hosts/upload-source.js";
import { assertCapped } from "./fixture.js";

async function scratch(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "airstrap-local-host-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test("local exec: exit codes, output, stdin, timeout", async () => {
  const host = localHost();
  assert.equal(host.address, "local");
  assert.deepEqual(await host.exec("echo out; echo err >&2; exit 4"), { code: 4, stdout: "out\n", stderr: "err\n" });
  assert.equal((await host.exec("tr a-z A-Z", { stdin: "abc" })).stdout, "ABC");
  const timed = await host.exec("sleep 20; echo late", { timeoutMs: 200 });
  assert.equal(timed.code, 124);
  assert.equal(timed.stdout, "");
  // As root, sudo is not needed and not used.
  if (process.getuid?.() === 0) assert.equal((await host.exec("id -u", { sudo: true })).stdout.trim(), "0");
});

test("local upload: atomic, verified, skipped when equal, resumed from a partial file", async (t) => {
  const dir = await scratch(t);
  const host = localHost();
  const content = randomBytes(500_000);
  const source = bufferSource(content);
  const path = join(dir, "sub/artifact");

  // What an interrupted earlier attempt left behind: the first 123,456 bytes.
  const { mkdir } = await import("node:fs/promises");
  await mkdir(join(dir, "sub"));
  await writeFile(partialPath(path, source.sha256, undefined), content.subarray(0, 123_456));
  const first = await host.upload(source, path, { mode: 0o750 });
  assert.deepEqual(first, { skipped: false, bytesSent: content.length - 123_456 });
  assert.deepEqual(await readFile(path), content);
  assert.equal((await stat(path)).mode & 0o7777, 0o750);
  assert.deepEqual(await readdir(join(dir, "sub")), ["artifact"]);

  assert.deepEqual(await host.upload(source, path, { mode: 0o750 }), { skipped: true, bytesSent: 0 });
  await assert.rejects(
    host.upload({ ...bufferSource("other"), sha256: "f".repeat(64) }, join(dir, "bad"), { mode: 0o644 }),
    {
      name: "OperatorError",
    },
  );
  assert.deepEqual((await readdir(dir)).sort(), ["sub"]);
});

test("local readFile and download", async (t) => {
  const dir = await scratch(t);
  const host = localHost();
  await writeFile(join(dir, "a"), "alpha\n");
  assert.equal((await host.readFile(join(dir, "a")))?.toString(), "alpha\n");
  assert.equal(await host.readFile(join(dir, "missing")), undefined);
  const result = await host.download(join(dir, "a"), join(dir, "copy"));
  assert.deepEqual(result, { bytes: 6, sha256: bufferSource("alpha\n").sha256 });
  assert.equal(await readFile(join(dir, "copy"), "utf8"), "alpha\n");
});

test("local exec: output past the cap keeps its start and its end and marks what was left out; readFile refuses", async (t) => {
  const dir = await scratch(t);
  const events = createEvents();
  const warned: string[] = [];
  events.subscribe((e) => e.kind === "host.output.truncated" && warned.push(e.message));
  const cap = 2 ** 20;
  const host = localHost({ maxOutputBytes: cap, events });
  // seq prints 1 to 3,000,000: about 21 MB, twenty times the cap, on stdout and on stderr.
  const result = await host.exec("seq 1 3000000; seq 1 3000000 >&2");
  assertCapped(result.stdout, cap);
  assertCapped(result.stderr, cap);
  assert.equal(warned.length, 2);
  assert.match(warned[0]!, /more than 1 MiB on stdout/);
  // Under the cap nothing changes.
  assert.equal((await host.exec("seq 1 1000")).stdout.split("\n").length, 1001);
  const big = join(dir, "big");
  await writeFile(big, Buffer.alloc(cap + 1, 97));
  await assert.rejects(host.readFile(big), /larger than the 1 MiB airstrap reads into memory/);
});
