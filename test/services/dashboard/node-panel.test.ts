import assert from "node:assert/strict";
import { test } from "node:test";
import { foldSample, metricSum, SERIES_POINTS } from "../../../src/services/dashboard/node-panel.js";

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

test("samples become words (readable without colour) and rates per second", () => {
  const first = foldSample([], {
    host: "s1",
    at: 10_000,
    dnsUp: true,
    dnsQueries: 100,
    lbUp: true,
    lbAccepted: 5,
    backends: [
      { listener: "api", name: "s1", state: "up" },
      { listener: "api", name: "s2", state: "down" },
    ],
  });
  const [panel] = foldSample(first, {
    host: "s1",
    at: 12_000,
    dnsUp: false,
    dnsQueries: 160,
    lbUp: true,
    lbAccepted: 9,
  });
  assert.deepEqual(first[0]?.lines, [
    { ok: true, text: "DNS answering" },
    { ok: true, text: "LB api → s1: up" },
    { ok: false, text: "LB api → s2: down" },
  ]);
  assert.deepEqual(panel?.lines, [{ ok: false, text: "DNS not answering" }]);
  assert.deepEqual(panel?.series.times, [10, 12]);
  assert.deepEqual(panel?.series.values, [
    [0, 30],
    [0, 2],
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
