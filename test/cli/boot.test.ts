import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { rm } from "node:fs/promises";
import { test } from "node:test";
import { curl } from "../peers/curl.js";
import { freePort } from "../peers/unbound.js";
import { dataFolder, writeFiles } from "../services/boot-http/fixture.js";
import { TWO_MACHINES } from "../services/boot-http/harness.js";

const ROOT = new URL("../../", import.meta.url).pathname;

async function waitFor(predicate: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(predicate(), `timed out waiting for ${what}`);
}

test("airstrap boot serve --data DIR --assets DIR --listen ADDR:PORT serves, reloads on change and on SIGHUP", async (t) => {
  const data = await dataFolder(TWO_MACHINES);
  const assets = await dataFolder({ vmlinuz: "kernel bytes\n" });
  t.after(() => Promise.all([rm(data, { recursive: true }), rm(assets, { recursive: true })]));
  const port = await freePort("127.0.0.1");
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "src/cli/main.ts",
      "boot",
      "serve",
      "--data",
      data,
      "--assets",
      assets,
      "--listen",
      `127.0.0.1:${port}`,
    ],
    { cwd: ROOT, env: { ...process.env, NO_COLOR: "1" } },
  );
  t.after(() => child.kill("SIGKILL"));
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  await waitFor(() => stderr.includes("boot HTTP listening on"), "the server to listen");
  const base = `http://127.0.0.1:${port}`;
  assert.equal((await curl(`${base}/ipxe?mac=52-54-00-00-00-02`)).status, 200);
  assert.equal((await curl(`${base}/assets/vmlinuz`)).text, "kernel bytes\n");
  assert.match(stderr, /iPXE script served to 52:54:00:00:00:02/);

  await writeFiles(data, { "groups/node3.json": '{"profile":"installed","selector":{"mac":"52:54:00:00:00:03"}}' });
  await waitFor(() => stderr.includes("boot data reloaded"), "the change to be picked up");
  assert.equal((await curl(`${base}/ipxe?mac=52:54:00:00:00:03`)).status, 200);

  await writeFiles(data, { "groups/node3.json": "{" });
  await waitFor(() => stderr.includes("reload refused"), "the bad file to be refused");
  assert.match(stderr, /groups\/node3\.json: not valid JSON/);
  assert.equal((await curl(`${base}/ipxe?mac=52:54:00:00:00:03`)).status, 200, "the old data still serves");

  const before = stderr.split("reload refused").length;
  child.kill("SIGHUP");
  await waitFor(() => stderr.split("reload refused").length > before, "SIGHUP to reload");

  child.kill("SIGTERM");
  const [code] = await once(child, "exit");
  assert.equal(code, 0, stderr);
});

test("airstrap boot serve refuses a data folder with a bad file, naming it", async (t) => {
  const data = await dataFolder({ ...TWO_MACHINES, "profiles/install.json": '{"id":"install","boot":[]}' });
  t.after(() => rm(data, { recursive: true }));
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "src/cli/main.ts", "boot", "serve", "--data", data, "--listen", "127.0.0.1:0"],
    { cwd: ROOT, env: { ...process.env, NO_COLOR: "1" } },
  );
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const [code] = await once(child, "exit");
  assert.equal(code, 1, stderr);
  assert.match(stderr, /profiles\/install\.json: boot must be a JSON object/);
});
