import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { TransientHostError } from "../../src/hosts/host.js";
import { partialPath } from "../../src/hosts/upload.js";
import { bufferSource, fileSource } from "../../src/hosts/upload-source.js";
import { type Sshd, sshdAvailable, startSshd } from "../peers/sshd.js";
import { hostsFixture } from "./fixture.js";

const missing = sshdAvailable();
let sshd: Sshd;
let remoteRoot: string;
before(async () => {
  if (missing) return;
  sshd = await startSshd();
  // sshd runs on this machine, so "remote" paths are checked directly.
  remoteRoot = join(sshd.dir, "remote");
  await mkdir(remoteRoot);
});
after(async () => {
  await sshd?.stop();
});

test("upload: content, mode and SHA-256 arrive; the same upload again sends nothing", async (t) => {
  if (missing) return t.skip(missing);
  const f = await hostsFixture(t);
  const host = f.host(sshd);
  const content = randomBytes(300_000);
  const source = bufferSource(content);
  const path = join(remoteRoot, "new/dir/config.bin");
  const progress: number[] = [];
  const first = await host.upload(source, path, { mode: 0o640, onProgress: (sent) => progress.push(sent) });
  assert.deepEqual(first, { skipped: false, bytesSent: content.length });
  assert.deepEqual(await readFile(path), content);
  assert.equal((await stat(path)).mode & 0o7777, 0o640);
  assert.equal(progress.at(-1), content.length);
  assert.deepEqual(await readdir(join(remoteRoot, "new/dir")), ["config.bin"], "no temporary file is left");

  assert.deepEqual(await host.upload(source, path, { mode: 0o640 }), { skipped: true, bytesSent: 0 });
  // Several files checked in one command: content and mode must both match; an absent path is false.
  const spaced = join(remoteRoot, "new/dir/with space");
  await writeFile(spaced, content, { mode: 0o640 });
  assert.deepEqual(
    await host.hasFiles([
      { path, sha256: source.sha256, mode: 0o640 },
      { path: spaced, sha256: source.sha256, mode: 0o640 },
      { path, sha256: source.sha256, mode: 0o600 },
      { path, sha256: "0".repeat(64), mode: 0o640 },
      { path: join(remoteRoot, "absent"), sha256: source.sha256, mode: 0o640 },
    ]),
    [true, true, false, false, false],
  );
  await rm(spaced);
  // Only the mode differs: fixed without sending the content.
  assert.deepEqual(await host.upload(source, path, { mode: 0o600 }), { skipped: false, bytesSent: 0 });
  assert.equal((await stat(path)).mode & 0o7777, 0o600);
  // New content replaces the old one.
  const replaced = await host.upload(bufferSource("second version\n"), path, { mode: 0o644 });
  assert.equal(replaced.bytesSent, 15);
  assert.equal(await readFile(path, "utf8"), "second version\n");
  // An empty file is a file too.
  await host.upload(bufferSource(""), join(remoteRoot, "empty"), { mode: 0o644 });
  assert.equal((await stat(join(remoteRoot, "empty"))).size, 0);
});

test("upload: a wrong expected SHA-256 is rejected and leaves no file at the path", async (t) => {
  if (missing) return t.skip(missing);
  const f = await hostsFixture(t);
  const host = f.host(sshd);
  const dir = join(remoteRoot, "wrong-sum");
  await mkdir(dir);
  const lying = { ...bufferSource("actual content"), sha256: "0".repeat(64) };
  await assert.rejects(host.upload(lying, join(dir, "file"), { mode: 0o644 }), (error: Error & { hint?: string }) => {
    assert.equal(error.name, "OperatorError");
    assert.match(error.message, /expected 0{64}/);
    return true;
  });
  assert.deepEqual(await readdir(dir), [], "neither the file nor a temporary file remains");
});

test("upload: after the link is cut mid-transfer, the next upload sends only the rest", async (t) => {
  if (missing) return t.skip(missing);
  const f = await hostsFixture(t);
  const host = f.host(sshd);
  const local = join(f.dir, "artifact.bin");
  const size = 12 * 1024 * 1024;
  await writeFile(local, randomBytes(size));
  const source = await fileSource(local);
  const dir = join(remoteRoot, "resume");
  await mkdir(dir);
  const path = join(dir, "artifact.bin");

  let cut = false;
  await assert.rejects(
    host.upload(source, path, {
      mode: 0o644,
      onProgress: (sent) => {
        if (!cut && sent >= 4 * 1024 * 1024) {
          cut = true;
          for (const pid of sshd.sessionPids()) process.kill(pid, "SIGKILL");
        }
      },
    }),
    (error: unknown) => {
      assert.ok(error instanceof TransientHostError, String(error));
      return true;
    },
  );
  assert.ok(cut);
  assert.equal(existsSync(path), false, "nothing at the path after the cut");
  const [partial] = await readdir(dir);
  assert.ok(partial?.endsWith(".airstrap-part"), `a partial file is kept: ${partial}`);
  const arrived = (await stat(join(dir, partial!))).size;
  assert.ok(arrived > 0 && arrived < size, `partial size ${arrived}`);

  const resumed = await host.upload(source, path, { mode: 0o644 });
  assert.deepEqual(resumed, { skipped: false, bytesSent: size - arrived });
  assert.deepEqual(await readFile(path), await readFile(local));
  assert.deepEqual(await readdir(dir), ["artifact.bin"]);
});

test("upload: a damaged partial file is detected by its SHA-256 and sent again from scratch", async (t) => {
  if (missing) return t.skip(missing);
  const f = await hostsFixture(t);
  const host = f.host(sshd);
  const dir = join(remoteRoot, "damaged");
  await mkdir(dir);
  const content = randomBytes(100_000);
  const source = bufferSource(content);
  const path = join(dir, "blob");
  // What an earlier, interrupted attempt left — but damaged.
  await writeFile(partialPath(path, source.sha256, undefined), Buffer.alloc(40_000, 7));
  const result = await host.upload(source, path, { mode: 0o644 });
  assert.equal(result.bytesSent, 60_000 + content.length, "the rest, then everything once more");
  assert.deepEqual(await readFile(path), content);
});

test("readFile and download", async (t) => {
  if (missing) return t.skip(missing);
  const f = await hostsFixture(t);
  const host = f.host(sshd);
  const content = randomBytes(2 * 1024 * 1024 + 3);
  const path = join(remoteRoot, "to-read.bin");
  await writeFile(path, content);
  assert.deepEqual(await host.readFile(path), content);
  assert.equal(await host.readFile(join(remoteRoot, "does-not-exist")), undefined);
  await assert.rejects(host.readFile(remoteRoot), { name: "OperatorError" });

  const local = join(f.dir, "downloaded.bin");
  const result = await host.download(path, local);
  assert.equal(result.bytes, content.length);
  assert.equal(result.sha256, bufferSource(content).sha256);
  assert.deepEqual(await readFile(local), content);
  assert.equal((await stat(local)).mode & 0o777, 0o600);
  await assert.rejects(host.download(join(remoteRoot, "nope"), join(f.dir, "nope")), /does not exist/);
  assert.equal(existsSync(join(f.dir, "nope")), false);
  await rm(path);
});
