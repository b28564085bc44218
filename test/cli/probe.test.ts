import assert from "node:assert/strict";
import { createServer } from "node:http";
import { test } from "node:test";
import { runAirstrap } from "../helpers/cli.js";

test("probe exits 0 on an expected status and 1 otherwise; https needs --ca or --insecure", async (t) => {
  const server = createServer((req, res) => {
    res.statusCode = req.url === "/ping" ? 200 : 503;
    res.end(req.url === "/ping" ? "pong" : "not ready");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const [ok, notReady, accepted, refused, https] = await Promise.all([
    runAirstrap(["probe", `${base}/ping`]),
    runAirstrap(["probe", `${base}/readyz`]),
    runAirstrap(["probe", `${base}/readyz`, "--expect", "200", "503"]),
    runAirstrap(["probe", "http://127.0.0.1:1/ping", "--timeout", "500"]),
    runAirstrap(["probe", "https://127.0.0.1:1/ping"]),
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(notReady.code, 1);
  assert.match(notReady.stderr, /answered 503/);
  assert.equal(accepted.code, 0);
  assert.equal(refused.code, 1);
  assert.equal(https.code, 2);
  assert.match(https.stderr, /--ca FILE or --insecure/);
});
