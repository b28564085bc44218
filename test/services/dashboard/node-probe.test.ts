import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { type AirstrapEvent, createEvents, silentEvents } from "../../../src/events.js";
import type { NodeSample } from "../../../src/services/dashboard/node-panel.js";
import { probeNodes } from "../../../src/services/dashboard/node-probe.js";
import { dig } from "../../peers/dig.js";
import { makeCertificates } from "../../peers/tls-certs.js";
import { client, pushImage, testRegistry } from "../registry/harness.js";
import { nodeWithStatus } from "./fixture.js";

/** Probes until `done` holds for a sample (at most `limit` samples), then stops. */
function samplesUntil(
  node: Parameters<typeof probeNodes>[0][number],
  done: (s: NodeSample) => boolean,
  options: { registryCa?: string } = {},
  limit = 100,
) {
  const events = createEvents();
  return new Promise<NodeSample>((resolve, reject) => {
    let seen = 0;
    const stop = probeNodes([node], { intervalMs: 50, ...options }, events);
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

test("a node's DNS, its LB backends with their connection counts, from its status listener", async () => {
  const node = await nodeWithStatus([{ name: "s1", address: "127.0.0.1", port: 9 }], silentEvents);
  try {
    for (let i = 0; i < 3; i += 1) await dig(node.dns.addresses[0] as string, "k8s-server-01.edge.lan", "A");
    const sample = await samplesUntil(
      { host: "s1", status: node.statusUrl },
      (s) => s.dnsUp === true && (s.dnsQueries ?? 0) >= 3,
    );
    assert.equal(sample.host, "s1");
    assert.equal(sample.servicesUp, true);
    assert.equal(sample.lbUp, true);
    assert.deepEqual(
      sample.backends?.map((b) => [b.listener, b.name, typeof b.connections]),
      [["api", "s1", "number"]],
    );
    assert.equal(sample.registryUp, undefined, "no replica was named, so none is reported");
  } finally {
    await node.close();
  }
  const gone = await samplesUntil({ host: "s1", status: node.statusUrl }, (s) => s.servicesUp === false);
  assert.equal(gone.dnsUp, undefined);
  assert.equal(gone.dnsQueries, undefined);
});

test("a registry replica's health and tags, over TLS with the site CA; tags travel only when they change", async (t) => {
  const certificates = makeCertificates(["127.0.0.1"]);
  t.after(() => certificates.remove());
  const plain = await testRegistry(t);
  const push = client(plain.base);
  await pushImage(push, "library/busybox", "1.36");
  await pushImage(push, "rancher/rke2-runtime", "v1.31.4-rke2r1");
  const replica = await testRegistry(t, {
    root: plain.root,
    tls: { certFile: certificates.certFile, keyFile: certificates.keyFile },
    auth: { anonymousPullNetworks: ["127.0.0.0/8"] },
  });
  const registryCa = await readFile(certificates.caFile, "utf8");
  const url = `https://${replica.registry.addresses[0]}`;
  const tagged = await samplesUntil({ host: "s1", registry: url }, (s) => s.registryTags !== undefined, { registryCa });
  assert.equal(tagged.registryUp, true);
  assert.deepEqual(tagged.registryTags, ["library/busybox:1.36", "rancher/rke2-runtime:v1.31.4-rke2r1"]);

  const events = createEvents();
  const samples: NodeSample[] = [];
  const stop = probeNodes([{ host: "s1", registry: url }], { intervalMs: 20, registryCa }, events);
  await new Promise<void>((resolve) => {
    events.subscribe((event) => {
      samples.push(event.detail as unknown as NodeSample);
      if (samples.length === 14) {
        stop();
        resolve();
      }
    });
  });
  assert.ok(samples.every((s) => s.registryUp === true));
  assert.equal(samples.filter((s) => s.registryTags !== undefined).length, 1, "the same tags are sent once");

  // Without the CA the certificate is not trusted: the replica is not reported up.
  const untrusted = await samplesUntil({ host: "s1", registry: url }, () => true);
  assert.equal(untrusted.registryUp, false);
});
