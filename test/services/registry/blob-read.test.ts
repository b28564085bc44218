// Serving blob bodies: many 1 MiB turns of the two reused buffers, ranges across their edges,
// and a client that leaves mid-body.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readdir, readlink } from "node:fs/promises";
import { get } from "node:http";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { client, pushBlob, testRegistry } from "./harness.js";

const MiB = 1 << 20;
const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

test("a blob of several MiB arrives byte for byte, whole and in ranges that straddle the 1 MiB reads", async (t) => {
  const { base } = await testRegistry(t);
  const http = client(base);
  const content = randomBytes(5 * MiB + 123);
  const digest = await pushBlob(http, "serve/big", content);

  const whole = await http(`/v2/serve/big/blobs/${digest}`);
  assert.equal(whole.status, 200);
  assert.equal(whole.headers.get("content-length"), String(content.length));
  assert.equal(sha256(new Uint8Array(await whole.arrayBuffer())), sha256(content));

  for (const [start, end] of [
    [MiB - 1, MiB],
    [MiB - 7, 3 * MiB + 9],
    [2 * MiB, 4 * MiB - 1],
    [5 * MiB, 5 * MiB + 122],
  ] as const) {
    const res = await http(`/v2/serve/big/blobs/${digest}`, { headers: { Range: `bytes=${start}-${end}` } });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get("content-range"), `bytes ${start}-${end}/${content.length}`);
    const body = new Uint8Array(await res.arrayBuffer());
    assert.equal(body.length, end - start + 1);
    assert.equal(sha256(body), sha256(content.subarray(start, end + 1)), `${start}-${end}`);
  }
});

test("a client that disconnects mid-blob releases the blob file and the registry keeps serving", async (t) => {
  const { registry, base, root } = await testRegistry(t);
  const http = client(base);
  // Far more than the socket buffers on both ends hold, so the server is mid-body when the client goes.
  const content = randomBytes(64 * MiB);
  const digest = await pushBlob(http, "serve/gone", content);
  const blobFile = `${root}/blobs/sha256/${digest.slice("sha256:".length)}`;

  const firstBytes = await new Promise<number>((resolve, reject) => {
    const req = get(`http://${registry.addresses[0]}/v2/serve/gone/blobs/${digest}`, (res) => {
      res.once("data", (chunk: Buffer) => {
        req.destroy();
        resolve(chunk.length);
      });
    });
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "ECONNRESET") reject(error);
    });
  });
  assert.ok(firstBytes > 0);

  // The server notices the close asynchronously; give it a bounded number of turns to let go.
  let open = await openDescriptorsOf(blobFile);
  for (let attempt = 0; attempt < 100 && open > 0; attempt++) {
    await sleep(50);
    open = await openDescriptorsOf(blobFile);
  }
  assert.equal(open, 0, "the blob file is still open after the client left");

  const again = await http(`/v2/serve/gone/blobs/${digest}`);
  assert.equal(again.status, 200);
  assert.equal(sha256(new Uint8Array(await again.arrayBuffer())), sha256(content));
});

/** How many of this process's descriptors point at `path` (the registry runs in-process). */
async function openDescriptorsOf(path: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir("/proc/self/fd")) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => "");
    if (target === path) count += 1;
  }
  return count;
}
