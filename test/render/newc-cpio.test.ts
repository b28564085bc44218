import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFile, readlink, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { renderNewcCpio } from "../../src/render/pxe/newc-cpio.js";
import { tempDir } from "../helpers/cli.js";

/** GNU cpio, told the format the kernel reads (newc), unpacks what airstrap wrote. */
async function unpack(t: { after(fn: () => Promise<void>): void }, archive: string): Promise<string> {
  const dir = await tempDir(t, "airstrap-cpio-");
  await writeFile(join(dir, "archive.cpio"), archive);
  execFileSync(
    "cpio",
    ["-i", "-d", "-m", "--quiet", "-H", "newc", "-D", join(dir, "out"), "-F", join(dir, "archive.cpio")],
    {
      stdio: "pipe",
    },
  );
  return join(dir, "out");
}

test("GNU cpio reads the newc archive back: folders, files with their modes and contents, a symlink", async (t) => {
  const archive = renderNewcCpio([
    { kind: "directory", path: "etc", mode: 0o755 },
    { kind: "directory", path: "etc/a.d", mode: 0o750 },
    { kind: "file", path: "etc/a.d/unit.service", mode: 0o644, content: "[Unit]\nDescription=x\n" },
    { kind: "file", path: "etc/run", mode: 0o755, content: "#!/bin/sh\necho 123\n" },
    { kind: "file", path: "etc/empty", mode: 0o600, content: "" },
    { kind: "symlink", path: "etc/link", target: "a.d/unit.service" },
  ]);
  assert.equal(archive.length % 4, 0, "the archive ends on a 4-byte boundary");
  assert.ok(archive.startsWith("070701"), "newc magic");
  const dir = await unpack(t, archive);
  assert.equal(await readFile(join(dir, "etc/a.d/unit.service"), "utf8"), "[Unit]\nDescription=x\n");
  assert.equal(await readFile(join(dir, "etc/run"), "utf8"), "#!/bin/sh\necho 123\n");
  assert.equal(await readFile(join(dir, "etc/empty"), "utf8"), "");
  assert.equal((await stat(join(dir, "etc/run"))).mode & 0o7777, 0o755);
  assert.equal((await stat(join(dir, "etc/empty"))).mode & 0o7777, 0o600);
  assert.equal((await stat(join(dir, "etc/a.d"))).mode & 0o7777, 0o750);
  assert.equal(await readlink(join(dir, "etc/link")), "a.d/unit.service");
  assert.equal(await readFile(join(dir, "etc/link"), "utf8"), "[Unit]\nDescription=x\n");
  const listing = execFileSync("cpio", ["-t", "--quiet", "-H", "newc"], { input: archive, encoding: "utf8" });
  assert.deepEqual(listing.trim().split("\n"), [
    "etc",
    "etc/a.d",
    "etc/a.d/unit.service",
    "etc/run",
    "etc/empty",
    "etc/link",
  ]);
});

test("entries that climb out of the archive, or hold other than ASCII, are refused", () => {
  assert.throws(() => renderNewcCpio([{ kind: "directory", path: "/etc", mode: 0o755 }]), /relative and plain/);
  assert.throws(
    () => renderNewcCpio([{ kind: "file", path: "etc/../x", mode: 0o644, content: "" }]),
    /relative and plain/,
  );
  assert.throws(() => renderNewcCpio([{ kind: "file", path: "x", mode: 0o644, content: "café" }]), /only ASCII/);
});
