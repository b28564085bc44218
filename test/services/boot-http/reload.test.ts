import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { OperatorError } from "../../../src/errors.js";
import { curl } from "../../peers/curl.js";
import { writeFiles } from "./fixture.js";
import { bootServer, MAC_2, TWO_MACHINES } from "./harness.js";

const NODE3 = JSON.stringify({ id: "node3", profile: "installed", selector: { mac: "52:54:00:00:00:03" } });

test("reload picks up changed groups, profiles and Ignition files", async (t) => {
  const { server, config, dataDir, url, events } = await bootServer(t, TWO_MACHINES);
  assert.equal((await curl(url("/ipxe?mac=52:54:00:00:00:03"))).status, 404);
  await writeFiles(dataDir, {
    "groups/node3.json": NODE3,
    "profiles/installed.json": JSON.stringify({ id: "installed", boot: { kernel: "/assets/new" } }),
    "ignition/install.ign": '{"ignition":{"version":"3.4.0"}}',
  });
  await server.reload(config);
  assert.equal((await curl(url("/ipxe?mac=52:54:00:00:00:03"))).text, "#!ipxe\nkernel /assets/new\nboot\n");
  assert.equal((await curl(url(`/ignition?mac=${MAC_2}`))).text, '{"ignition":{"version":"3.4.0"}}');
  assert.equal(events.at(-3)?.kind, "boot.reload");
  assert.match(server.metrics(), /^airstrap_boot_http_reloads_total 1$/m);
});

test("a bad file on reload is an error naming it, and the old data keeps serving", async (t) => {
  const { server, config, dataDir, url, events } = await bootServer(t, TWO_MACHINES);
  await writeFiles(dataDir, { "groups/node3.json": NODE3, "groups/node2.json": '{"profile": "install", ' });
  await assert.rejects(server.reload(config), (error: Error) => {
    assert.ok(error instanceof OperatorError);
    assert.match(error.message, /groups\/node2\.json: not valid JSON/);
    return true;
  });
  assert.equal(events.at(-1)?.kind, "boot.reload.failed");
  assert.equal((await curl(url(`/ipxe?mac=${MAC_2}`))).status, 200, "node2 still boots from the old data");
  assert.equal((await curl(url("/ipxe?mac=52:54:00:00:00:03"))).status, 404, "nothing of the bad data is served");
  assert.match(server.metrics(), /^airstrap_boot_http_reload_failures_total 1$/m);
  await writeFiles(dataDir, { "groups/node2.json": TWO_MACHINES["groups/node2.json"]! });
  await server.reload(config);
  assert.equal((await curl(url("/ipxe?mac=52:54:00:00:00:03"))).status, 200);
});

test("a download in flight finishes across a reload that moves the listener", async (t) => {
  const assets = await mkdtemp(join(tmpdir(), "boot-assets-"));
  t.after(() => rm(assets, { recursive: true, force: true }));
  const image = Buffer.alloc(4 * 1024 * 1024, 7);
  await writeFiles(assets, { "image.bin": image });
  const { server, config, url } = await bootServer(t, TWO_MACHINES, {
    assets: { kind: "dir", path: assets },
    drainTimeoutMs: 120_000,
  });
  // curl at 2 MB/s: the download is still running when the reload happens.
  const download = spawn("curl", ["-sS", "--limit-rate", "2M", "-o", "-", url("/assets/image.bin")]);
  t.after(() => download.kill("SIGKILL"));
  const chunks: Buffer[] = [];
  download.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
  const exited = once(download, "exit");
  await once(download.stdout, "data");
  const moved = { ...config, listen: [{ address: "127.0.0.2", port: 0 }] };
  await server.reload(moved);
  assert.match(server.addresses[0] ?? "", /^127\.0\.0\.2:/);
  await assert.rejects(curl(url("/")), /curl/, "the old listener no longer accepts");
  const [code] = await exited;
  assert.equal(code, 0);
  assert.ok(Buffer.concat(chunks).equals(image), "the whole image arrived");
  assert.equal((await curl(`http://${server.addresses[0]}/`)).text, "matchbox\n");
});
