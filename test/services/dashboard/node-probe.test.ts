import assert from "node:assert/strict";
import { test } from "node:test";
import { type AirstrapEvent, createEvents } from "../../../src/events.js";
import type { NodeSample } from "../../../src/services/dashboard/node-panel.js";
import { probeNodes } from "../../../src/services/dashboard/node-probe.js";
import { startDns } from "../../../src/services/dns/service.js";
import { dig } from "../../peers/dig.js";
import { siteConfig } from "../dns/fixture.js";

/** Probes until `done` holds for a sample (at most `limit` samples), then stops. */
function samplesUntil(node: Parameters<typeof probeNodes>[0][number], done: (s: NodeSample) => boolean, limit = 100) {
  const events = createEvents();
  return new Promise<NodeSample>((resolve, reject) => {
    let seen = 0;
    const stop = probeNodes([node], 50, events);
    events.subscribe((event: AirstrapEvent) => {
      if (event.kind !== "node.sample") return;
      const sample = event.detail as unknown as NodeSample;
      seen += 1;
      if (done(sample) || seen >= limit) {
        stop();
        if (done(sample)) resolve(sample);
        else reject(new Error(`no sample like that in ${limit}: last ${JSON.stringify(sample)}`));
      }
    });
  });
}

test("a node's DNS answering and the queries it counted come from its /healthz and /metrics", async () => {
  const dns = await startDns(siteConfig({ http: { address: "127.0.0.63", port: 0 } }), createEvents());
  const url = `http://${dns.httpAddress}`;
  try {
    for (let i = 0; i < 3; i += 1) await dig(dns.addresses[0] as string, "k8s-server-01.edge.lan", "A");
    const sample = await samplesUntil({ host: "s1", dns: url }, (s) => s.dnsUp === true && (s.dnsQueries ?? 0) >= 3);
    assert.equal(sample.host, "s1");
    assert.equal(sample.lbUp, undefined, "no LB was named, so none is reported");
  } finally {
    await dns.close();
  }
  const gone = await samplesUntil({ host: "s1", dns: url, lb: "http://127.0.0.63:9" }, (s) => s.dnsUp === false);
  assert.equal(gone.lbUp, false);
  assert.equal(gone.dnsQueries, undefined);
});
