import assert from "node:assert/strict";
import { test } from "node:test";
import { buildSingleExecutable } from "../../peers/airstrap-sea.js";
import { freePort } from "../../peers/unbound.js";
import { airstrapCli, isRunning, SITE_FLAGS, waitFor, withOnly, workerPidsOf } from "./processes.js";
import { lastAddressOf, rawQuery, udpExchange } from "./raw-client.js";

test("the single-file executable starts its DNS workers from itself, and they answer", async (t) => {
  const sea = buildSingleExecutable("src/cli/main.ts");
  t.after(() => sea.remove());
  const port = await freePort("127.0.0.156");
  const run = airstrapCli(["dns", ...SITE_FLAGS, "--listen", `127.0.0.156:${port}`, "--workers", "2"], [sea.path]);
  t.after(() => run.child.kill("SIGKILL"));
  await waitFor(() => run.stderr().includes("DNS listening on"), "the server to listen");
  const primary = run.child.pid!;
  const [worker] = workerPidsOf(primary);
  assert.ok(worker !== undefined, `no worker: ${run.stderr()}`);
  const reply = await withOnly([primary, worker], worker, () =>
    udpExchange(`127.0.0.156:${port}`, rawQuery(1, "n2.site.lan", 1), 5000),
  );
  assert.equal(lastAddressOf(reply), "10.9.0.11");
  run.child.kill("SIGTERM");
  assert.equal((await run.exited).code, 0);
  assert.equal(isRunning(worker), false);
});
