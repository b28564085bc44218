import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { waitFor } from "../../helpers/wait-for.js";
import { curl } from "../../peers/curl.js";
import { writeFiles } from "./fixture.js";
import { bootServer, TWO_MACHINES } from "./harness.js";

const KERNEL = randomBytes(300_000);

async function assetsFolder(t: import("node:test").TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "boot-assets-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFiles(dir, {
    "flatcar/vmlinuz": KERNEL,
    "flatcar/version.txt": "FLATCAR_VERSION=1\n",
    "a b.txt": "space\n",
  });
  return dir;
}

test("/assets/ serves files whole and by Range, with an event per file", async (t) => {
  const assets = await assetsFolder(t);
  const { url, events } = await bootServer(t, TWO_MACHINES, { assets: { kind: "dir", path: assets } });
  const whole = await curl(url("/assets/flatcar/vmlinuz"));
  assert.equal(whole.status, 200);
  assert.equal(whole.headers["accept-ranges"], "bytes");
  assert.ok(whole.body.equals(KERNEL));
  const part = await curl(url("/assets/flatcar/vmlinuz"), ["-r", "1000-1999"]);
  assert.equal(part.status, 206);
  assert.equal(part.headers["content-range"], `bytes 1000-1999/${KERNEL.length}`);
  assert.ok(part.body.equals(KERNEL.subarray(1000, 2000)));
  const tail = await curl(url("/assets/flatcar/vmlinuz"), ["-r", "-10"]);
  assert.ok(tail.body.equals(KERNEL.subarray(KERNEL.length - 10)));
  assert.equal((await curl(url("/assets/flatcar/vmlinuz"), ["-r", `${KERNEL.length + 5}-`])).status, 416);
  assert.equal((await curl(url("/assets/a%20b.txt"))).text, "space\n");
  // The event follows the last byte written, which the client may see first.
  await waitFor(() => events.filter((e) => e.kind === "boot.asset").length === 5, "five boot.asset events");
  const served = events.filter((e) => e.kind === "boot.asset");
  assert.deepEqual(
    served.map((e) => e.detail?.status),
    [200, 206, 206, 416, 200],
  );
  assert.equal(served[1]?.detail?.bytes, 1000);
  for (const event of served)
    assert.equal(typeof event.detail?.durationMs, "number", "each download says how long it took");
  assert.match(
    (await curl(url("/metrics"))).text,
    new RegExp(`^airstrap_boot_http_asset_bytes_total ${KERNEL.length + 1010 + 6}$`, "m"),
  );
});

test("/assets/ refuses traversal, lists no folder, follows no symlink out of the folder", async (t) => {
  const assets = await assetsFolder(t);
  const outside = await mkdtemp(join(tmpdir(), "boot-outside-"));
  t.after(() => rm(outside, { recursive: true, force: true }));
  await writeFile(join(outside, "secret"), "do not serve\n");
  await symlink(join(outside, "secret"), join(assets, "link"));
  const { url, events } = await bootServer(t, TWO_MACHINES, { assets: { kind: "dir", path: assets } });
  for (const path of [
    "/assets/../groups/node1.json",
    "/assets/flatcar/../../secret",
    "/assets/%2e%2e/%2e%2e/etc/passwd",
    "/assets/flatcar%2f..%2f..%2fsecret",
    "/assets/..%5c..%5csecret",
    "/assets/flatcar//vmlinuz",
    "/assets/%ZZ",
    "/assets/link",
  ]) {
    const out = await curl(url(path));
    assert.equal(out.status, 403, path);
    assert.doesNotMatch(out.text, /do not serve|node1/, path);
  }
  for (const path of ["/assets/", "/assets/flatcar", "/assets/flatcar/", "/assets/nothing"]) {
    const out = await curl(url(path));
    assert.equal(out.status, path === "/assets/flatcar/" || path === "/assets/" ? 403 : 404, path);
    assert.doesNotMatch(out.text, /vmlinuz|version/, path);
  }
  assert.ok(events.filter((e) => e.kind === "boot.asset.refused").length >= 8);
});

test('without an assets source /assets/ is off, as Matchbox with -assets-path ""', async (t) => {
  const { url } = await bootServer(t, TWO_MACHINES);
  assert.equal((await curl(url("/assets/flatcar/vmlinuz"))).status, 404);
});

test("a resolver serves names from elsewhere (the artifact store)", async (t) => {
  const assets = await assetsFolder(t);
  const asked: string[] = [];
  const resolve = async (name: string) => {
    asked.push(name);
    return name === "kernel" ? join(assets, "flatcar/vmlinuz") : undefined;
  };
  const { url } = await bootServer(t, TWO_MACHINES, { assets: { kind: "resolver", resolve } });
  assert.ok((await curl(url("/assets/kernel"))).body.equals(KERNEL));
  assert.equal((await curl(url("/assets/other/name"))).status, 404);
  assert.equal((await curl(url("/assets/../kernel"))).status, 403);
  assert.deepEqual(asked, ["kernel", "other/name"]);
});
