import assert from "node:assert/strict";
import { test } from "node:test";
import { silentEvents } from "../../../src/events.js";
import { curl } from "../../peers/curl.js";
import { dig } from "../../peers/dig.js";
import { nodeWithStatus } from "../dashboard/fixture.js";

async function statusOf(t: { after(fn: () => Promise<void>): void }, allowed: string[]) {
  const running = await nodeWithStatus([{ name: "s1", address: "127.0.0.72", port: 9 }], silentEvents, {
    address: "127.0.0.72",
    allowed,
  });
  t.after(() => running.close());
  return { ...running, url: running.statusUrl };
}

test("the status listener reports the node's DNS and each LB backend, and both services' metrics", async (t) => {
  const node = await statusOf(t, ["127.0.0.64/28"]);
  await dig(node.dns.addresses[0] as string, "k8s-server-01.edge.lan", "A");
  const health = await curl(`${node.url}/healthz`, ["--interface", "127.0.0.72"]);
  // The only backend (port 9, discard) refuses: the listener has no healthy backend, so 503 with the report.
  assert.equal(health.status, 503);
  const report = JSON.parse(health.text) as {
    healthy: boolean;
    dns: { serving: boolean };
    lb: { listeners: Array<{ name: string; backends: Array<{ name: string; state: string }> }> };
  };
  assert.deepEqual(Object.keys(report).sort(), ["dns", "healthy", "lb"]);
  assert.equal(report.dns.serving, true);
  assert.equal(report.lb.listeners[0]?.name, "api");
  assert.equal(report.lb.listeners[0]?.backends[0]?.name, "s1");
  const metrics = await curl(`${node.url}/metrics`, ["--interface", "127.0.0.72"]);
  assert.equal(metrics.status, 200);
  assert.match(metrics.text, /^airstrap_dns_queries_total\{type="A",transport="udp"\} 1$/m);
  assert.match(metrics.text, /^airstrap_lb_backend_up\{listener="api",backend="s1"/m);
  node.stopDns();
  assert.equal(JSON.parse((await curl(`${node.url}/healthz`, ["--interface", "127.0.0.72"])).text).dns.serving, false);
});

test("the status listener is read-only and answers nobody outside its networks", async (t) => {
  const node = await statusOf(t, ["127.0.0.64/28"]);
  for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
    const write = await curl(`${node.url}/healthz`, ["--interface", "127.0.0.72", "-X", method, "--data", "x"]);
    assert.equal(write.status, 405, method);
  }
  assert.equal((await curl(`${node.url}/`, ["--interface", "127.0.0.72"])).status, 404);
  assert.equal((await curl(`${node.url}/../etc/passwd`, ["--interface", "127.0.0.72"])).status, 404);
  // 127.0.0.90 is outside 127.0.0.64/28: refused whatever it asks.
  for (const path of ["/healthz", "/metrics", "/"]) {
    const outside = await curl(`${node.url}${path}`, ["--interface", "127.0.0.90"]);
    assert.equal(outside.status, 403, path);
    assert.doesNotMatch(outside.text, /airstrap_|listeners/);
  }
  // A reload that lets that network in takes effect at once.
  await node.status.reload({ listen: { address: "127.0.0.72", port: 0 }, allowedNetworks: ["127.0.0.88/29"] });
  assert.equal((await curl(`${node.url}/metrics`, ["--interface", "127.0.0.90"])).status, 200);
  assert.equal((await curl(`${node.url}/metrics`, ["--interface", "127.0.0.72"])).status, 403);
});
