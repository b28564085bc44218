import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readdir, stat } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { silentEvents } from "../../../src/events.js";
import { startRegistry } from "../../../src/services/registry/service.js";
import { openBlobStore } from "../../../src/store/blob-store.js";
import { isDigest } from "../../../src/store/digest.js";
import { openRepositories } from "../../../src/store/repositories.js";
import { baseUrl, client, pushBlob, pushImage, registryConfig, sha, tempDir } from "./harness.js";
import { spawnRegistry } from "./registry-process.js";

const CHUNK = 256 * 1024;

/** Streams `body` as one PATCH; resolves when the request ends or the connection dies. */
function streamPatch(base: string, location: string, body: Buffer, start: number): Promise<void> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { "Content-Type": "application/octet-stream" };
    if (start > 0) headers["Content-Range"] = `${start}-${start + body.length - 1}`;
    const req = request(new URL(location, base), { method: "PATCH", headers }, (res) => {
      res.resume();
      res.on("end", resolve);
    });
    req.on("error", () => resolve());
    let offset = 0;
    const pump = () => {
      while (offset < body.length) {
        const piece = body.subarray(offset, offset + CHUNK);
        offset += piece.length;
        if (!req.write(piece)) return void req.once("drain", () => setImmediate(pump));
        // Paced (about 50 MiB/s at most) so a kill aimed mid-stream lands before the last byte,
        // even on a loaded machine and though the server writes in 1 MiB batches.
        if (offset % (CHUNK * 4) === 0) return void setTimeout(pump, 20);
      }
      req.end();
    };
    pump();
  });
}

async function waitForBytes(path: string, atLeast: number, deadlineMs = 20_000): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < deadlineMs) {
    const size = await stat(path).then(
      (s) => s.size,
      () => 0,
    );
    if (size >= atLeast) return;
    await sleep(5);
  }
  throw new Error(`upload never reached ${atLeast} bytes`);
}

/** After a crash: no blob in the store is partial or wrong, and no temp file is visible as a blob. */
async function assertStoreIntact(root: string): Promise<number> {
  const store = await openBlobStore(root);
  const names = await readdir(join(root, "blobs", "sha256"));
  for (const hex of names) {
    assert.match(hex, /^[a-f0-9]{64}$/, `unexpected file in the blob area: ${hex}`);
    assert.equal(await store.verify(`sha256:${hex}`), true, `blob ${hex} does not match its digest`);
  }
  return names.length;
}

test("kill -9 during streamed pushes, many times: nothing partial is visible and every push resumes", async (t) => {
  const root = await tempDir(t, "crash");
  const rounds = 6;
  for (let round = 0; round < rounds; round++) {
    const content = randomBytes(8 * 1024 * 1024 + round * 4099);
    const digest = sha(content);
    let server = await spawnRegistry(["--root", root, "--listen", "127.0.0.1:0"], t);
    const http = client(server.base);
    const started = await http(`/v2/crash/r${round}/blobs/uploads/`, { method: "POST" });
    const location = started.headers.get("location")!;
    const id = location.split("/").pop()!;
    const sending = streamPatch(server.base, location, content, 0);
    // Kill at a different depth into the stream every round.
    await waitForBytes(join(root, "uploads", id, "data"), ((round % 3) + 1) * 1024 * 1024);
    await server.kill();
    await sending;

    await assertStoreIntact(root);
    assert.equal(await openBlobStore(root).then((s) => s.has(digest)), false);
    server = await spawnRegistry(["--root", root, "--listen", "127.0.0.1:0"], t);
    const again = client(server.base);
    const status = await again(location);
    assert.equal(status.status, 204);
    const received = Number(status.headers.get("range")!.split("-")[1]) + 1;
    assert.ok(received > 0 && received < content.length, `resume point ${received}`);
    await streamPatch(server.base, location, content.subarray(received), received);
    const done = await again(`${location}?digest=${digest}`, { method: "PUT" });
    assert.equal(done.status, 201, await done.text());
    const back = Buffer.from(await (await again(`/v2/crash/r${round}/blobs/${digest}`)).arrayBuffer());
    assert.ok(back.equals(content));
    await server.kill();
  }
  assert.equal(await assertStoreIntact(root), rounds);
});

test("kill -9 while tags are being rewritten: every tag still names a whole manifest", async (t) => {
  const root = await tempDir(t, "crash-tags");
  for (let round = 0; round < 4; round++) {
    const server = await spawnRegistry(["--root", root, "--listen", "127.0.0.1:0"], t);
    const http = client(server.base);
    const images = await Promise.all([0, 1].map((i) => pushImage(http, "crash/tags", `seed${i}`, `r${round}-${i}`)));
    let stop = false;
    const writers = [0, 1, 2].map(async (w) => {
      for (let i = 0; !stop && i < 10_000; i++) {
        const image = images[(i + w) % 2]!;
        await http(`/v2/crash/tags/manifests/t${i % 7}`, {
          method: "PUT",
          body: image.manifest,
          headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
        }).catch(() => undefined);
      }
    });
    await sleep(300 + round * 150);
    await server.kill();
    stop = true;
    await Promise.all(writers);
    const repos = openRepositories(await openBlobStore(root));
    for (const tag of (await repos.listTags("crash/tags")) ?? []) {
      const digest = await repos.resolveTag("crash/tags", tag);
      assert.ok(digest && isDigest(digest), `tag ${tag} is unreadable`);
      assert.ok(await repos.getManifest("crash/tags", tag), `tag ${tag} points at a missing manifest`);
    }
    await assertStoreIntact(root);
  }
});

test("two clients pushing the same blob at once both succeed and store it once", async (t) => {
  const root = await tempDir(t, "same-blob");
  const registry = await startRegistry(registryConfig(root), silentEvents);
  t.after(() => registry.close());
  const http = client(baseUrl(registry));
  const content = randomBytes(4 * 1024 * 1024);
  const digest = `sha256:${createHash("sha256").update(content).digest("hex")}` as const;
  const pushes = await Promise.all(
    Array.from({ length: 4 }, async (_, i) => {
      const location = (await http(`/v2/same/c${i}/blobs/uploads/`, { method: "POST" })).headers.get("location")!;
      await http(location, { method: "PATCH", body: content });
      return http(`${location}?digest=${digest}`, { method: "PUT" });
    }),
  );
  assert.deepEqual(
    pushes.map((r) => r.status),
    [201, 201, 201, 201],
  );
  const monolithic = await Promise.all([0, 1, 2].map(() => pushBlob(http, "same/mono", content)));
  assert.deepEqual(monolithic, [digest, digest, digest]);
  assert.deepEqual(await readdir(join(root, "blobs", "sha256")), [digest.slice(7)]);
  assert.deepEqual(await readdir(join(root, "uploads")), []);
  assert.equal(await assertStoreIntact(root), 1);
});

test("a client that drops mid-PATCH can resume from the reported offset; the digest still verifies", async (t) => {
  const root = await tempDir(t, "client-drop");
  const registry = await startRegistry(registryConfig(root), silentEvents);
  t.after(() => registry.close());
  const base = baseUrl(registry);
  const http = client(base);
  const content = randomBytes(6 * 1024 * 1024);
  const location = (await http("/v2/drop/app/blobs/uploads/", { method: "POST" })).headers.get("location")!;
  const id = location.split("/").pop()!;
  await new Promise<void>((resolve) => {
    const req = request(new URL(location, base), { method: "PATCH" });
    req.on("error", () => resolve());
    req.write(content.subarray(0, 2 * 1024 * 1024));
    void waitForBytes(join(root, "uploads", id, "data"), 1024 * 1024).then(() => {
      req.destroy();
      setTimeout(resolve, 100);
    });
  });
  // The server notices the drop a moment later; ask for the offset once it has.
  for (let i = 0; i < 250 && registry.context.uploads.activeCount() > 0; i++) await sleep(20);
  const status = await http(location);
  const received = Number(status.headers.get("range")!.split("-")[1]) + 1;
  assert.ok(received > 0 && received <= 2 * 1024 * 1024, `resume point ${received}`);
  await http(location, {
    method: "PATCH",
    body: content.subarray(received),
    headers: { "Content-Range": `${received}-${content.length - 1}` },
  });
  const done = await http(`${location}?digest=${sha(content)}`, { method: "PUT" });
  assert.equal(done.status, 201, await done.text());
  assert.equal(await registry.context.repos.blobs.verify(sha(content)), true);
});
