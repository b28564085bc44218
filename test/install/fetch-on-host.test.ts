import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { silentEvents } from "../../src/events.js";
import { TransientHostError } from "../../src/hosts/host.js";
import { FileServerUnreachable, fetchOnHost } from "../../src/install/fetch-on-host.js";
import { PhaseFailure } from "../../src/install/phase.js";
import type { FileServerConfig } from "../../src/services/files/config.js";
import { startFileServer } from "../../src/services/files/service.js";
import type { RunningService } from "../../src/services/service.js";
import { localPhaseContext, localPlannedHost } from "../helpers/local-phase.js";

// The host side is the real script run by a real shell with the real curl, against the real server on loopback.
const dir = mkdtempSync(join(tmpdir(), "airstrap-files-"));
const content = Buffer.alloc(3 * 1024 * 1024 + 17);
for (let i = 0; i < content.length; i++) content[i] = (i * 7 + (i >> 10)) & 0xff;
const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const goodSha = sha(content);
const source = join(dir, "release.tar.gz");
writeFileSync(source, content);
const liar = join(dir, "liar");
writeFileSync(liar, Buffer.from("not what was promised"));
const liarSha = "0".repeat(64);

const host = localPlannedHost;
const ctx = localPhaseContext;

let server: RunningService<FileServerConfig>;
let base: string;
const config = (allowed: string[]): FileServerConfig => ({
  address: "127.0.0.1",
  port: 0,
  files: [
    { sha256: goodSha, path: source },
    { sha256: liarSha, path: liar },
  ],
  allowedNetworks: allowed,
});

before(async () => {
  server = await startFileServer(config(["127.0.0.0/8"]), silentEvents);
  base = `http://${server.addresses[0]}`;
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const bytesServed = () => Number(/airstrap_files_bytes_served_total (\d+)/.exec(server.metrics())?.[1]);

test("a host fetches a file, checks its SHA-256 and puts it in place with its mode", async () => {
  const target = join(dir, "out", "a", "release.tar.gz");
  await fetchOnHost(ctx, host, `${base}/files/${goodSha}`, target, goodSha, 0o640);
  assert.equal(sha(readFileSync(target)), goodSha);
  assert.equal(statSync(target).mode & 0o777, 0o640);
});

test("a part left by a cut transfer is resumed with a Range request, not sent again", async () => {
  const target = join(dir, "out", "b", "release.tar.gz");
  const half = Math.floor(content.length / 2);
  await fetchOnHost(ctx, host, `${base}/files/${goodSha}`, join(dir, "out", "b", "warmup"), goodSha, 0o644);
  writeFileSync(`${target}.${goodSha.slice(0, 12)}.part`, content.subarray(0, half));
  const before = bytesServed();
  await fetchOnHost(ctx, host, `${base}/files/${goodSha}`, target, goodSha, 0o644);
  assert.equal(sha(readFileSync(target)), goodSha);
  assert.equal(bytesServed() - before, content.length - half);
});

test("content that does not match its SHA-256 never reaches the path, and no part is left", async () => {
  const target = join(dir, "out", "c", "file");
  await assert.rejects(fetchOnHost(ctx, host, `${base}/files/${liarSha}`, target, liarSha, 0o644), PhaseFailure);
  assert.throws(() => statSync(target), /ENOENT/);
  assert.throws(() => statSync(`${target}.${liarSha.slice(0, 12)}.part`), /ENOENT/);
});

test("only the files the install carries are served; anything else is 404", async () => {
  const target = join(dir, "out", "d", "file");
  const error = await fetchOnHost(ctx, host, `${base}/files/${"a".repeat(64)}`, target, "a".repeat(64), 0o644).catch(
    (e: Error) => e,
  );
  assert.ok(error instanceof PhaseFailure && /404/.test(error.message), String(error));
  const traversal = await fetch(`${base}/files/..%2f..%2fetc%2fpasswd`);
  assert.equal(traversal.status, 404);
});

test("a client outside the allowed networks gets 403, and the failure says why", async () => {
  await server.reload(config(["10.0.0.0/8"]));
  try {
    const error = await fetchOnHost(ctx, host, `${base}/files/${goodSha}`, join(dir, "e"), goodSha, 0o644).catch(
      (e: Error) => e,
    );
    assert.ok(error instanceof PhaseFailure && /403/.test(error.message), String(error));
    assert.match((error as PhaseFailure).hint ?? "", /allowed networks/);
  } finally {
    await server.reload(config(["127.0.0.0/8"]));
  }
});

test("a file server nobody can reach is reported as unreachable (install then falls back to SSH)", async () => {
  const closed = await startFileServer({ ...config(["127.0.0.0/8"]), port: 0 }, silentEvents);
  const url = `http://${closed.addresses[0]}/files/${goodSha}`;
  await closed.close();
  await assert.rejects(fetchOnHost(ctx, host, url, join(dir, "f"), goodSha, 0o644), FileServerUnreachable);
});

test("a transfer cut off by the server is a transient fault (retried), and the part is kept for resuming", async () => {
  // A server that promises the whole file and hangs up after a quarter of it.
  const { createServer } = await import("node:http");
  const cutter = createServer((_req, res) => {
    res.writeHead(200, { "Content-Length": String(content.length) });
    res.write(content.subarray(0, content.length / 4), () => res.destroy());
  });
  await new Promise<void>((resolve) => cutter.listen(0, "127.0.0.1", resolve));
  const port = (cutter.address() as { port: number }).port;
  const target = join(dir, "out", "g", "file");
  try {
    await assert.rejects(
      fetchOnHost(ctx, host, `http://127.0.0.1:${port}/x`, target, goodSha, 0o644),
      TransientHostError,
    );
    assert.ok(statSync(`${target}.${goodSha.slice(0, 12)}.part`).size > 0);
    await fetchOnHost(ctx, host, `${base}/files/${goodSha}`, target, goodSha, 0o644);
    assert.equal(sha(readFileSync(target)), goodSha);
  } finally {
    cutter.closeAllConnections();
    cutter.close();
  }
});

test("the server reports each transfer's progress per client, ending at the file's size", async () => {
  const seen: Array<{ client: string; sent: number; total: number }> = [];
  await server.reload({ ...config(["127.0.0.0/8"]), onProgress: (p) => seen.push(p) });
  try {
    await fetchOnHost(ctx, host, `${base}/files/${goodSha}`, join(dir, "out", "h", "file"), goodSha, 0o644);
  } finally {
    await server.reload(config(["127.0.0.0/8"]));
  }
  assert.ok(seen.length >= 2 && seen.length <= 60, `${seen.length} progress reports`);
  assert.ok(seen.every((p) => p.client === "127.0.0.1" && p.total === content.length));
  assert.equal(seen.at(-1)?.sent, content.length);
});
