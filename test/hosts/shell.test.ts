import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { sha256Command, shellQuote } from "../../src/hosts/shell.js";

const which = (tool: string) => spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();

test("the remote SHA-256 command gives the same digest with OpenSSL and with coreutils alone", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "airstrap-sha-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "a file with 'quotes' and spaces");
  const content = Buffer.from("x".repeat(100_000));
  writeFileSync(file, content);
  const expected = createHash("sha256").update(content).digest("hex");
  const run = (path: string) =>
    spawnSync("/bin/sh", ["-c", sha256Command(shellQuote(file))], { encoding: "utf8", env: { PATH: path } }).stdout;

  assert.ok(which("openssl"), "this machine has openssl (Debian package openssl)");
  assert.equal(run(process.env.PATH ?? "").trim(), expected);

  // A host without openssl: only what the fallback needs on its PATH.
  const bin = join(dir, "bin");
  spawnSync("mkdir", [bin]);
  for (const tool of ["sha256sum", "cut"]) symlinkSync(which(tool), join(bin, tool));
  assert.equal(run(bin).trim(), expected);

  const absent = spawnSync("/bin/sh", ["-c", sha256Command(shellQuote(join(dir, "absent")))], { encoding: "utf8" });
  assert.equal(absent.stdout.trim(), "", "a missing file prints no digest (and no error text)");
  assert.equal(absent.stderr, "");
});
