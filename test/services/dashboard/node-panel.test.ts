import assert from "node:assert/strict";
import { test } from "node:test";
import { foldSample, metricSamples, metricSum, SERIES_POINTS } from "../../../src/services/dashboard/node-panel.js";

const METRICS = [
  "# HELP airstrap_dns_queries_total Queries received.",
  "# TYPE airstrap_dns_queries_total counter",
  'airstrap_dns_queries_total{type="A",transport="udp"} 40',
  'airstrap_dns_queries_total{type="AAAA",transport="udp"} 2',
  "airstrap_dns_queries_total_other 999",
].join("\n");

test("a metric's samples are summed over their labels; a longer name that starts the same is another metric", () => {
  assert.equal(metricSum(METRICS, "airstrap_dns_queries_total"), 42);
  assert.equal(metricSum(METRICS, "airstrap_lb_listener_accepted_total"), undefined);
});

test("samples become words (readable without colour) and rates per second, per backend too", () => {
  const first = foldSample([], {
    host: "s1",
    at: 10_000,
    servicesUp: true,
    dnsUp: true,
    dnsQueries: 100,
    lbUp: true,
    lbAccepted: 5,
    backends: [
      { listener: "api", name: "s1", state: "up", connections: 4 },
      { listener: "api", name: "s2", state: "down", connections: 1 },
    ],
  });
  const [panel] = foldSample(first, {
    host: "s1",
    at: 12_000,
    servicesUp: true,
    dnsUp: false,
    dnsQueries: 160,
    lbUp: true,
    lbAccepted: 9,
    backends: [
      { listener: "api", name: "s1", state: "up", connections: 8 },
      { listener: "api", name: "s2", state: "down", connections: 1 },
    ],
  });
  assert.deepEqual(first[0]?.lines, [
    { state: "ok", text: "DNS answering" },
    { state: "ok", text: "LB api → s1: up, 0.0 connections/s" },
    { state: "bad", text: "LB api → s2: down, 0.0 connections/s" },
  ]);
  assert.deepEqual(panel?.lines, [
    { state: "bad", text: "DNS not serving" },
    { state: "ok", text: "LB api → s1: up, 2.0 connections/s" },
    { state: "bad", text: "LB api → s2: down, 0.0 connections/s" },
  ]);
  assert.deepEqual(panel?.series.times, [10, 12]);
  assert.deepEqual(panel?.series.values, [
    [0, 30],
    [0, 2],
  ]);
});

test("a node that never answered is waiting; once it answered, silence is a failure", () => {
  let panels = foldSample([], { host: "a1", at: 0, servicesUp: false, registryUp: false });
  assert.deepEqual(panels[0]?.lines, [
    { state: "waiting", text: "node services (DNS, load balancer) not answering yet" },
    { state: "waiting", text: "registry replica not answering yet" },
  ]);
  panels = foldSample(panels, { host: "a1", at: 1000, servicesUp: true, dnsUp: true, lbUp: true, backends: [] });
  panels = foldSample(panels, { host: "a1", at: 2000, servicesUp: false, registryUp: false });
  assert.deepEqual(panels[0]?.lines, [
    { state: "bad", text: "node services (DNS, load balancer) not answering" },
    { state: "bad", text: "registry replica not answering" },
  ]);
});

test("a replica's tags are kept between the samples that do not carry them", () => {
  let panels = foldSample([], {
    host: "s1",
    at: 0,
    registryUp: true,
    registryTags: ["a:1", "b:2"],
    registryTagsMore: 3,
  });
  panels = foldSample(panels, { host: "s1", at: 1000, registryUp: true });
  assert.deepEqual(panels[0]?.tags, { list: ["a:1", "b:2"], more: 3 });
  assert.deepEqual(panels[0]?.lines, [{ state: "ok", text: "registry replica up, 5 tags" }]);
});

test("a metric's samples keep their labels", () => {
  const text = 'airstrap_lb_backend_connections_total{listener="api",backend="s\\\\1",address="10.0.0.1:6443"} 7\n';
  assert.deepEqual(metricSamples(text, "airstrap_lb_backend_connections_total"), [
    { labels: { listener: "api", backend: "s\\1", address: "10.0.0.1:6443" }, value: 7 },
  ]);
});

test("a counter that went back (the service restarted) is no negative rate; the series stay bounded", () => {
  let panels = foldSample([], { host: "s1", at: 0, dnsQueries: 100 });
  panels = foldSample(panels, { host: "s1", at: 1000, dnsQueries: 3 });
  assert.equal(panels[0]?.series.values[0]?.[1], 0);
  for (let i = 2; i < SERIES_POINTS + 10; i += 1)
    panels = foldSample(panels, { host: "s1", at: i * 1000, dnsQueries: i });
  assert.equal(panels[0]?.series.times.length, SERIES_POINTS);
  assert.equal(panels.length, 1);
});
