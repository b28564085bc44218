import assert from "node:assert/strict";
import { test } from "node:test";
import { silentEvents } from "../../../src/events.js";
import { startDns } from "../../../src/services/dns/service.js";
import { dig, serverOf } from "../../peers/dig.js";
import { startUnbound } from "../../peers/unbound.js";
import { siteConfig } from "./fixture.js";

test("metrics and health over HTTP: queries by type, responses by rcode, cache hits, upstream latency", async (t) => {
  const unbound = await startUnbound({
    address: "127.0.0.98",
    zones: { "upstream.test.": ["www.upstream.test. 300 IN A 192.0.2.10"] },
  });
  t.after(() => unbound.stop());
  const dns = await startDns(
    siteConfig({
      listen: [{ address: "127.0.0.98", port: 0 }],
      http: { address: "127.0.0.98", port: 0 },
      upstreams: [serverOf(unbound.endpoint)],
    }),
    silentEvents,
  );
  t.after(() => dns.close());
  const server = dns.addresses[0]!;
  await dig(server, "git.edge.lan", "A");
  await dig(server, "git.edge.lan", "AAAA", ["+tcp"]);
  await dig(server, "missing.edge.lan", "A");
  await dig(server, "www.upstream.test", "A");
  await dig(server, "www.upstream.test", "A");

  const metricsUrl = `http://${dns.httpAddress}`;
  const response = await fetch(`${metricsUrl}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  assert.match(text, /^airstrap_dns_queries_total\{type="A",transport="udp"\} 4$/m);
  assert.match(text, /^airstrap_dns_queries_total\{type="AAAA",transport="tcp"\} 1$/m);
  assert.match(text, /^airstrap_dns_responses_total\{rcode="NOERROR"\} 4$/m);
  assert.match(text, /^airstrap_dns_responses_total\{rcode="NXDOMAIN"\} 1$/m);
  assert.match(text, /^airstrap_dns_cache_hits_total 1$/m);
  assert.match(text, /^airstrap_dns_cache_misses_total 1$/m);
  assert.match(
    text,
    new RegExp(`^airstrap_dns_upstream_latency_seconds_count\\{upstream="${unbound.endpoint}"\\} 1$`, "m"),
  );
  assert.match(text, /^# TYPE airstrap_dns_upstream_latency_seconds histogram$/m);

  const health = await fetch(`${metricsUrl}/healthz`);
  assert.equal(health.status, 200);
  assert.equal(await health.text(), "ok\n");
  assert.equal((await fetch(`${metricsUrl}/nope`)).status, 404);
});
