import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { readArtifactIndex } from "../../src/artifacts/artifact-index.js";
import { openBlobStore } from "../../src/store/blob-store.js";
import { smallAirstrapImage } from "../helpers/airstrap-image.js";
import { random, snapshot, tempDir } from "./bundle/fixtures.js";
import { startReleaseMirror, sumsFileFor } from "./release-mirror.js";

const MAIN = join(import.meta.dirname, "../../src/cli/main.ts");
// Resolved here: `--import tsx` would be looked up from the child's working directory.
const TSX = import.meta.resolve("tsx");

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function airstrap(args: string[], cwd: string): Promise<Run> & { child: ReturnType<typeof spawn> } {
  const child = spawn(process.execPath, ["--import", TSX, MAIN, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const done = new Promise<Run>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return Object.assign(done, { child });
}

const VERSION = "v1.31.4+k3s1";

test("artifacts pull, check, bundle create, verify and load from the command line", async (t) => {
  const release = { k3s: random(2 * 1024 * 1024), "k3s-airgap-images-amd64.tar.zst": random(3 * 1024 * 1024) };
  const mirror = await startReleaseMirror(t, "k3s-io/k3s", VERSION, {
    ...release,
    "sha256sum-amd64.txt": sumsFileFor(release),
    "install.sh": Buffer.from("#!/bin/sh\n"),
  });
  const site = await tempDir(t, "cli-site");
  await writeFile(
    join(site, "cluster.yaml"),
    [
      "apiVersion: airstrap.io/v1alpha1",
      "kind: Cluster",
      "metadata: { name: lab }",
      "spec:",
      "  domain: lab.lan",
      `  distro: { name: k3s, version: "${VERSION}", arch: amd64 }`,
      "  hosts:",
      "    - { name: k3s-01, address: 10.77.0.11, role: server }",
      `  artifacts: { source: "${mirror.source}" }`,
      "",
    ].join("\n"),
  );

  const missing = await airstrap(["artifacts", "check", "-f", "cluster.yaml"], site);
  assert.equal(missing.code, 1, missing.stderr);
  assert.match(missing.stdout, /missing +k3s: not pulled/);
  assert.match(missing.stdout, /airstrap artifacts pull -f cluster\.yaml/);

  const pulled = await airstrap(["artifacts", "pull", "-f", "cluster.yaml"], site);
  assert.equal(pulled.code, 0, pulled.stderr);
  assert.match(pulled.stderr, /k3s: downloaded, 2097152 bytes, matches sha256sum-amd64\.txt/);
  assert.match(pulled.stdout, /4 release files and 0 images .*: 4 fetched/);

  const storeRoot = join(site, ".airstrap", "store");
  const index = await readArtifactIndex(storeRoot);
  const k3s = index.files.find((f) => f.name === "k3s")!;
  await writeFile(join(storeRoot, "blobs/sha256", k3s.digest.slice(7)), random(10));
  const corrupt = await airstrap(["artifacts", "check", "-f", "cluster.yaml"], site);
  assert.equal(corrupt.code, 1);
  assert.match(corrupt.stdout, /corrupt +k3s: blob sha256:[a-f0-9]{64} no longer matches its digest/);
  const repaired = await airstrap(["artifacts", "pull", "-f", "cluster.yaml"], site);
  assert.equal(repaired.code, 0, repaired.stderr);
  assert.match(repaired.stdout, /1 fetched/);
  const ok = await airstrap(["artifacts", "check", "-f", "cluster.yaml"], site);
  assert.equal(ok.code, 0, `${ok.stdout}\n${ok.stderr}`);

  const image = await smallAirstrapImage(site);
  const created = await airstrap(
    ["bundle", "create", "-f", "cluster.yaml", "-o", "lab.bundle", "--split", "1M", "--image", image.archive],
    site,
  );
  assert.equal(created.code, 0, created.stderr);
  const key = /signed by (ed25519:\S+)/.exec(created.stdout)?.[1];
  assert.ok(key, created.stdout);
  assert.match(created.stdout, /lab\.bundle\.part005/);
  const stateFiles = await readdir(join(site, ".airstrap"));
  assert.ok(stateFiles.includes("bundle-signing.key"));
  const { stat } = await import("node:fs/promises");
  assert.equal((await stat(join(site, ".airstrap", "bundle-signing.key"))).mode & 0o777, 0o600);
  assert.ok(!created.stdout.includes("PRIVATE KEY") && !created.stderr.includes("PRIVATE KEY"));

  const verified = await airstrap(["bundle", "verify", "lab.bundle.part000", "--key", key], site);
  assert.equal(verified.code, 0, verified.stderr);
  assert.match(verified.stdout, /signature: good, by the trusted key SHA256:/);

  const part = join(site, "lab.bundle.part002");
  const bytes = await readFile(part);
  bytes[4242] = bytes[4242]! ^ 1;
  await writeFile(part, bytes);
  const damaged = await airstrap(["bundle", "verify", "lab.bundle", "--key", key], site);
  assert.equal(damaged.code, 1);
  assert.match(
    damaged.stderr,
    /error: bundle damaged: entry blobs\/sha256\/[a-f0-9]{64} in lab\.bundle\.part002: its content \((release file|part of image) [^)]+\) does not match/,
  );
  assert.match(damaged.stderr, /hint: copy this part again/);
  assert.ok(!damaged.stderr.includes("    at "), "no stack trace for a damaged bundle");
  bytes[4242] = bytes[4242]! ^ 1;
  await writeFile(part, bytes);

  const other = await tempDir(t, "cli-airgapped");
  const loaded = await airstrap(
    ["bundle", "load", join(site, "lab.bundle.part000"), "--key", key, "--store", "store"],
    other,
  );
  assert.equal(loaded.code, 0, loaded.stderr);
  assert.match(loaded.stdout, /4 release files and 1 images recorded/);
  const { tmp: _a, ...left } = { tmp: 0, ...(await snapshot(join(other, "store"))) };
  const { tmp: _b, ...right } = { tmp: 0, ...(await snapshot(storeRoot)) };
  assert.deepEqual(left, right);
});

test("a load killed midway resumes after the blobs it had staged and ends with a correct store", async (t) => {
  const { addFile, recordContent } = await import("./bundle/fixtures.js");
  const { createBundle } = await import("../../src/artifacts/bundle/create.js");
  const { loadOrCreateSigningKey, formatPublicKey } = await import("../../src/artifacts/bundle/signing.js");
  const { silentEvents } = await import("../../src/events.js");
  const dir = await tempDir(t, "cli-kill");
  const source = await openBlobStore(join(dir, "source"));
  const files = [];
  // Many small files: each is staged with its own fsync, so the load is still early on when the
  // fourth is seen and cannot finish before the kill lands.
  for (let i = 0; i < 160; i++) files.push(await addFile(source, `file-${i}`, random(512 * 1024)));
  const content = { files, images: [] };
  await recordContent(source, content);
  const key = await loadOrCreateSigningKey(join(dir, "state"));
  await createBundle({
    store: source,
    output: join(dir, "big.bundle"),
    content,
    manifest: { file: "cluster.yaml", text: "x", cluster: "big" },
    signingKey: key,
    events: silentEvents,
  });
  const pub = formatPublicKey(key.publicKey);
  const run = airstrap(["bundle", "load", "big.bundle", "--store", "target", "--key", pub], dir);
  const tmp = join(dir, "target", "tmp");
  let staged = 0;
  const deadline = Date.now() + 90_000; // the child compiles TypeScript first; a busy machine makes that slow
  while (Date.now() < deadline && staged < 4 && run.child.exitCode === null) {
    const dirs = await readdir(tmp).catch(() => [] as string[]);
    const load = dirs.find((d) => d.startsWith("load-"));
    staged = load
      ? (await readdir(join(tmp, load)).catch(() => [] as string[])).filter((n) => /^[a-f0-9]{64}$/.test(n)).length
      : 0;
    await sleep(5);
  }
  run.child.kill("SIGKILL");
  const killed = await run;
  assert.equal(killed.signal, "SIGKILL", `the load ended (${killed.code}) before it could be killed: ${killed.stderr}`);
  assert.ok(staged >= 4, `staged ${staged}`);
  assert.deepEqual(
    (await readArtifactIndex(join(dir, "target"))).files,
    [],
    "nothing is visible before the load completes",
  );

  const resumed = await airstrap(["bundle", "load", "big.bundle", "--store", "target", "--key", pub], dir);
  assert.equal(resumed.code, 0, resumed.stderr);
  const count = Number(/(\d+) resumed from an earlier run/.exec(resumed.stdout)?.[1]);
  assert.ok(count >= 4, resumed.stdout);
  const target = await openBlobStore(join(dir, "target"));
  for (const file of files) assert.ok(await target.verify(file.digest), file.name);
  assert.deepEqual(await readArtifactIndex(target.root), await readArtifactIndex(source.root));
  assert.deepEqual(await readdir(join(dir, "target", "tmp")), []);
});
