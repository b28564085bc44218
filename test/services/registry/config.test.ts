import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { UsageError } from "../../../src/errors.js";
import { loadManifest } from "../../../src/manifest/load.js";
import { planCluster } from "../../../src/plan/plan.js";
import { parseListen, registryConfigFromPlan, registryTlsNames } from "../../../src/services/registry/config.js";

const example = (name: string) => fileURLToPath(new URL(`../../../examples/${name}.yaml`, import.meta.url));

test("the plan's replica listens on its node, replicates from the other replicas, and lets the site pull", async () => {
  const { manifest } = await loadManifest(example("rke2-ha"));
  const plan = planCluster(manifest);
  const replica = plan.registry.hosts[0]!;
  const config = registryConfigFromPlan(plan, replica);
  const host = plan.hosts.find((h) => h.name === replica)!;
  assert.deepEqual(config.listen, [`${host.address}:${plan.registry.port}`]);
  assert.deepEqual(config.auth.anonymousPullNetworks, plan.dns.allowedNetworks);
  assert.equal(config.peers.length, plan.registry.endpoints.length - 1);
  assert.ok(!config.peers.some((peer) => peer.includes(host.fqdn)));
  assert.deepEqual(registryTlsNames(plan, replica), [host.fqdn, host.address]);
  const agent = plan.hosts.find((h) => !h.runsRegistry);
  if (agent) assert.throws(() => registryConfigFromPlan(plan, agent.name), UsageError);
  assert.throws(() => registryConfigFromPlan(plan, "nope"), /no host named "nope"/);
});

test("listen addresses are IP:PORT, IPv6 in brackets", () => {
  assert.deepEqual(parseListen("127.0.0.1:5000"), { address: "127.0.0.1", port: 5000 });
  assert.deepEqual(parseListen("[::1]:0"), { address: "::1", port: 0 });
  assert.throws(() => parseListen("localhost:5000"), /--listen: "localhost" is not an IP address/);
  assert.throws(() => parseListen("127.0.0.1:70000"), /--listen: port 70000 is out of range/);
});
