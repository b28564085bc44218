import assert from "node:assert/strict";
import { test } from "node:test";
import { dnsConfigFromFlags, parseRecordsFile, recordFlag } from "../../../src/cli/dns-flags.js";
import { OperatorError, UsageError } from "../../../src/errors.js";
import { loadManifest } from "../../../src/manifest/load.js";
import { planCluster } from "../../../src/plan/plan.js";
import { dnsConfigFromPlan } from "../../../src/services/dns/config.js";
import { compileZones } from "../../../src/services/dns/zone.js";
import { siteConfig } from "./fixture.js";

const example = (name: string) => new URL(`../../../examples/${name}`, import.meta.url).pathname;

test("the plan as seen from one node", async () => {
  const { manifest } = await loadManifest(example("rke2-ha.yaml"));
  const plan = planCluster(manifest);
  const config = dnsConfigFromPlan(plan, "k8s-server-02");
  assert.deepEqual(config.listen, [{ address: "10.77.0.12", port: 53 }]);
  assert.equal(config.clusterFqdn, "edge-cluster.edge.lan");
  assert.deepEqual(config.node, { name: "k8s-server-02", fqdn: "k8s-server-02.edge.lan", addresses: ["10.77.0.12"] });
  assert.equal(config.hosts.length, 5);
  assert.deepEqual(config.upstreams, [{ address: "10.77.0.53", port: 53 }]);
  assert.ok(config.allowedNetworks.includes("10.77.0.0/24") && config.allowedNetworks.includes("127.0.0.0/8"));
  assert.deepEqual(
    config.records.find((r) => r.type === "CNAME"),
    { name: "*.apps.edge.lan", type: "CNAME", value: "edge-cluster.edge.lan", ttl: 300 },
  );
  // Every derived config compiles.
  for (const host of plan.hosts) compileZones(dnsConfigFromPlan(plan, host.name), 1);
});

test("other specific listen addresses count as the node's own; loopback does not", async () => {
  const { manifest } = await loadManifest(example("rke2-ha.yaml"));
  const config = dnsConfigFromPlan(planCluster(manifest), "k8s-server-01", {
    listen: [
      { address: "10.77.0.11", port: 53 },
      { address: "192.168.50.11", port: 53 },
      { address: "127.0.0.1", port: 5353 },
    ],
  });
  assert.deepEqual(config.node.addresses, ["10.77.0.11", "192.168.50.11"]);
});

test("an unknown node is an operator error naming the hosts", async () => {
  const { manifest } = await loadManifest(example("rke2-ha.yaml"));
  assert.throws(
    () => dnsConfigFromPlan(planCluster(manifest), "k8s-server-09"),
    (error: unknown) =>
      error instanceof OperatorError && /k8s-server-09/.test(error.message) && /k8s-server-01/.test(error.hint ?? ""),
  );
});

test("zone data that cannot be served is refused with the record named", () => {
  const bad = (records: ReturnType<typeof siteConfig>["records"], pattern: RegExp) =>
    assert.throws(
      () => compileZones(siteConfig({ records }), 1),
      (error: unknown) => error instanceof OperatorError && pattern.test(error.message) && error.hint !== undefined,
    );
  bad(
    [
      { name: "x.edge.lan", type: "CNAME", value: "git.edge.lan" },
      { name: "x.edge.lan", type: "A", value: "10.0.0.1" },
    ],
    /x\.edge\.lan has a CNAME and other records/,
  );
  bad(
    [{ name: "git.example.org", type: "A", value: "10.0.0.1" }],
    /git\.example\.org \(A\) is outside the domain edge\.lan/,
  );
  bad([{ name: "edge-cluster.edge.lan", type: "A", value: "10.0.0.1" }], /collides with the cluster record/);
  bad([{ name: "srv.edge.lan", type: "SRV", value: "10 5 ldap" }], /not "priority weight port target"/);
  bad([{ name: "edge.lan", type: "CNAME", value: "git.edge.lan" }], /cannot sit at the zone apex/);
  bad([{ name: "bad..edge.lan", type: "A", value: "10.0.0.1" }], /not a valid DNS name/);
  assert.throws(
    () => compileZones(siteConfig({ records: [{ name: "v6.edge.lan", type: "AAAA", value: "10.0.0.1" }] }), 1),
    /not an IPv6 address/,
  );
});

test("the flag form: names relative to the domain, defaults from the node's address", () => {
  const config = dnsConfigFromFlags({
    domain: "Site.LAN.",
    nodeName: "n1",
    nodeAddress: ["10.9.0.10"],
    host: ["n2=10.9.0.11"],
    record: ["www CNAME n2", "_x._tcp SRV 1 2 3 n2", "ext.other.org. A 10.9.0.99"],
    upstream: ["10.9.0.1", "[fd00::53]:5353"],
    allow: [],
    listen: [],
  });
  assert.equal(config.domain, "site.lan");
  assert.equal(config.clusterFqdn, "cluster.site.lan");
  assert.deepEqual(config.listen, [{ address: "10.9.0.10", port: 53 }]);
  assert.deepEqual(config.allowedNetworks, ["10.9.0.0/24", "127.0.0.0/8", "::1/128"]);
  assert.deepEqual(config.upstreams, [
    { address: "10.9.0.1", port: 53 },
    { address: "fd00::53", port: 5353 },
  ]);
  assert.deepEqual(config.records.slice(0, 2), [
    { name: "www.site.lan", type: "CNAME", value: "n2.site.lan" },
    { name: "_x._tcp.site.lan", type: "SRV", value: "1 2 3 n2.site.lan" },
  ]);
  assert.equal(config.records[2]?.name, "ext.other.org");
  assert.throws(() => recordFlag("www", "site.lan"), UsageError);
  assert.throws(
    () =>
      dnsConfigFromFlags({
        domain: "a.lan",
        nodeName: "n",
        nodeAddress: [],
        host: [],
        record: [],
        upstream: [],
        allow: [],
        listen: [],
      }),
    /--node-address is required/,
  );
  assert.throws(
    () =>
      dnsConfigFromFlags({
        domain: "a.lan",
        nodeName: "n",
        nodeAddress: ["10.0.0.1"],
        host: [],
        record: [],
        upstream: ["nope"],
        allow: [],
        listen: [],
      }),
    /--upstream: "nope" is not an IP address/,
  );
});

test("a records file with a mistake says where", () => {
  assert.deepEqual(parseRecordsFile("records:\n  - { name: db, type: A, value: 10.0.0.1, ttl: 5 }\n", "r.yaml"), [
    { name: "db", type: "A", value: "10.0.0.1", ttl: 5 },
  ]);
  assert.throws(
    () =>
      parseRecordsFile(
        "records:\n  - { name: db, type: A, value: 10.0.0.1 }\n  - { name: x, type: MX, value: y }\n",
        "r.yaml",
      ),
    (error: unknown) => error instanceof OperatorError && /^r\.yaml: records\[1\]\.type: /.test(error.message),
  );
  assert.throws(() => parseRecordsFile("records: [", "r.yaml"), /r\.yaml: not valid YAML/);
});
