import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { parseChunkRange, parseReadRange } from "../../../src/services/registry/range.js";
import { matchRoute } from "../../../src/services/registry/routes.js";
import { client, pushImage, registryConfig, tempDir, testRegistry } from "./harness.js";

test("health and Prometheus metrics endpoints answer without credentials", async (t) => {
  const tokenFile = join(await tempDir(t, "token"), "token");
  await writeFile(tokenFile, "metrics-test-token-0123456789", { mode: 0o600 });
  const { base, registry } = await testRegistry(t, { auth: { tokenFile, anonymousPullNetworks: [] } });
  await pushImage(client(base, { Authorization: "Bearer metrics-test-token-0123456789" }), "metrics/app", "v1");
  assert.equal((await fetch(`${base}/v2/`)).status, 401);
  const health = await fetch(`${base}/healthz`);
  assert.equal(health.status, 200);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /^# TYPE airstrap_registry_requests_total counter$/m);
  assert.match(metrics, /^airstrap_registry_requests_total\{method="PUT",code="201"\} [1-9]\d*$/m);
  assert.match(metrics, /^airstrap_registry_uploads_in_progress 0$/m);
  assert.equal(registry.metrics().includes("airstrap_registry_request_duration_seconds_count"), true);
  await registry.close();
  await registry.close();
});

test("routes keep endpoint words inside repository names", () => {
  assert.deepEqual(matchRoute("/v2/a/blobs/b/manifests/v1"), { kind: "manifest", name: "a/blobs/b", reference: "v1" });
  assert.deepEqual(matchRoute("/v2/x/manifests/blobs/uploads/"), { kind: "uploads", name: "x/manifests" });
  assert.deepEqual(matchRoute("/v2/tags/tags/list"), { kind: "tags", name: "tags" });
  assert.equal(matchRoute("/v1/x"), undefined);
});

test("range parsing: reads per RFC 9110, upload chunks per the distribution spec", () => {
  assert.deepEqual(parseReadRange("bytes=0-", 0), { kind: "unsatisfiable" });
  assert.deepEqual(parseReadRange("bytes=-0", 10), { kind: "unsatisfiable" });
  assert.deepEqual(parseReadRange("bytes=-20", 10), { kind: "part", start: 0, end: 9 });
  assert.deepEqual(parseReadRange("bytes=0-1,4-5", 10), { kind: "whole" });
  assert.deepEqual(parseReadRange("items=0-1", 10), { kind: "whole" });
  assert.deepEqual(parseChunkRange("0-99"), { start: 0, end: 99 });
  assert.deepEqual(parseChunkRange("bytes 100-199"), { start: 100, end: 199 });
  assert.equal(parseChunkRange("9-1"), undefined);
  assert.equal(parseChunkRange("abc"), undefined);
});

test("reload swaps credentials at once and refuses to move the listener", async (t) => {
  const dir = await tempDir(t, "reload");
  const first = join(dir, "first");
  const second = join(dir, "second");
  await writeFile(first, "first-token-0123456789abcdef", { mode: 0o600 });
  await writeFile(second, "second-token-0123456789abcdef", { mode: 0o600 });
  const config = registryConfig(await tempDir(t), { auth: { tokenFile: first, anonymousPullNetworks: [] } });
  const { registry, base } = await testRegistry(t, config);
  const push = (token: string) =>
    fetch(`${base}/v2/reload/app/blobs/uploads/`, { method: "POST", headers: { Authorization: `Bearer ${token}` } });
  assert.equal((await push("first-token-0123456789abcdef")).status, 202);
  await registry.reload({ ...config, auth: { tokenFile: second, anonymousPullNetworks: [] } });
  assert.equal((await push("first-token-0123456789abcdef")).status, 401);
  assert.equal((await push("second-token-0123456789abcdef")).status, 202);
  await assert.rejects(registry.reload({ ...config, listen: ["127.0.0.2:0"] }), /only on restart/);
});
