import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { localHost } from "../../src/hosts/local-host.js";
import { SMALL_UPLOAD_MAX_BYTES, smallUploadScript, uploadSmall } from "../../src/hosts/upload-small.js";
import { bufferSource } from "../../src/hosts/upload-source.js";

async function scratch(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "airstrap-upload-small-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const sha256 = (content: Buffer | string) => createHash("sha256").update(content).digest("hex");

/** The host side of a small upload, run by a real sh with `stdin` as the content that arrives. */
function runScript(path: string, expected: string, mode: number, stdin: Buffer | string) {
  const run = spawnSync("sh", ["-c", smallUploadScript(path, expected, mode)], { input: stdin });
  return { code: run.status, out: run.stdout.toString().trim(), err: run.stderr.toString() };
}

test("small upload script: written, unchanged, mode only, and a missing directory is created", async (t) => {
  const dir = await scratch(t);
  const path = join(dir, "etc/app/config.yaml");
  const content = "a: 1\n";
  assert.deepEqual(runScript(path, sha256(content), 0o640, content), { code: 0, out: "written", err: "" });
  assert.equal(await readFile(path, "utf8"), content);
  assert.equal((await stat(path)).mode & 0o7777, 0o640);
  assert.equal(runScript(path, sha256(content), 0o640, content).out, "unchanged");
  assert.equal(runScript(path, sha256(content), 0o600, content).out, "mode");
  assert.equal((await stat(path)).mode & 0o7777, 0o600);
  assert.deepEqual(await readdir(join(dir, "etc/app")), ["config.yaml"], "no temporary file is left");
});

test("small upload script: content that arrives damaged is reported and never replaces the file", async (t) => {
  const dir = await scratch(t);
  const path = join(dir, "unit.service");
  await writeFile(path, "the old, good version\n");
  const meant = "[Unit]\nDescription=meant\n";
  const damaged = "[Unit]\nDescription=mea";
  const result = runScript(path, sha256(meant), 0o644, damaged);
  assert.deepEqual(result, { code: 0, out: `mismatch ${sha256(damaged)}`, err: "" });
  assert.equal(await readFile(path, "utf8"), "the old, good version\n");
  assert.deepEqual(await readdir(dir), ["unit.service"], "the damaged temporary file is removed");
});

test("small upload script: a path with spaces and quotes stays one path", async (t) => {
  const dir = await scratch(t);
  const path = join(dir, "it's a dir/the file");
  assert.equal(runScript(path, sha256("x"), 0o644, "x").out, "written");
  assert.equal(await readFile(path, "utf8"), "x");
});

test("small uploads through a host: one command each, outcomes as the resumable path reports them", async (t) => {
  const dir = await scratch(t);
  const host = localHost();
  const path = join(dir, "plan.json");
  const content = randomBytes(SMALL_UPLOAD_MAX_BYTES);
  const source = bufferSource(content);
  assert.deepEqual(await host.upload(source, path, { mode: 0o644 }), { skipped: false, bytesSent: content.length });
  assert.deepEqual(await readFile(path), content);
  assert.deepEqual(await host.upload(source, path, { mode: 0o644 }), { skipped: true, bytesSent: 0 });
  assert.deepEqual(await host.upload(source, path, { mode: 0o600 }), { skipped: false, bytesSent: 0 });
  assert.deepEqual(
    await host.hasFiles([
      { path, sha256: source.sha256, mode: 0o600 },
      { path, sha256: source.sha256, mode: 0o644 },
      { path: join(dir, "absent"), sha256: source.sha256, mode: 0o600 },
    ]),
    [true, false, false],
  );

  // Exactly one command per small upload, whatever its outcome.
  const commands: string[] = [];
  const ops = {
    label: "counted",
    capture: (command: string, options: { stdin: Buffer }) => {
      commands.push(command);
      const run = spawnSync("sh", ["-c", command], { input: options.stdin });
      return Promise.resolve({ code: run.status ?? 1, stdout: run.stdout, stderr: run.stderr });
    },
  };
  const next = bufferSource("second version\n");
  assert.deepEqual(await uploadSmall(ops, next, path, { mode: 0o644, asRoot: false }), {
    skipped: false,
    bytesSent: 15,
  });
  assert.deepEqual(await uploadSmall(ops, next, path, { mode: 0o644, asRoot: false }), { skipped: true, bytesSent: 0 });
  assert.equal(commands.length, 2);
  assert.equal(await readFile(path, "utf8"), "second version\n");
});

test("small upload: a source whose content does not match its SHA-256 is refused before anything is sent", async (t) => {
  const dir = await scratch(t);
  const commands: string[] = [];
  const ops = {
    label: "h1",
    capture: (command: string) => {
      commands.push(command);
      return Promise.resolve({ code: 0, stdout: Buffer.from("written\n"), stderr: Buffer.alloc(0) });
    },
  };
  const lying = { ...bufferSource("actual content"), sha256: "0".repeat(64) };
  await assert.rejects(
    uploadSmall(ops, lying, join(dir, "file"), { mode: 0o644, asRoot: false }),
    (error: Error & { hint?: string }) => {
      assert.equal(error.name, "OperatorError");
      assert.match(
        error.message,
        /host h1: upload to .*file: the content to send has SHA-256 [0-9a-f]{64}, expected 0{64}/,
      );
      assert.match(error.hint ?? "", /verify the artifact store/);
      return true;
    },
  );
  assert.deepEqual(commands, []);
});

test("small upload: a host that cannot write reports the path, the exit code and what it said", async (t) => {
  const dir = await scratch(t);
  const blocker = join(dir, "not-a-dir");
  await writeFile(blocker, "a file where a directory is needed");
  await assert.rejects(
    localHost().upload(bufferSource("x"), join(blocker, "inside/file"), { mode: 0o644 }),
    (error: Error & { hint?: string }) => {
      assert.equal(error.name, "OperatorError");
      assert.match(error.message, /writing .*not-a-dir\/inside\/file failed \(exit 1\): .*Not a directory/);
      assert.ok(error.hint);
      return true;
    },
  );
});
