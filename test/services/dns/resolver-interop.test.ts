import assert from "node:assert/strict";
import { test } from "node:test";
import { silentEvents } from "../../../src/events.js";
import { startDns } from "../../../src/services/dns/service.js";
import { dig } from "../../peers/dig.js";
import { startUnbound } from "../../peers/unbound.js";
import { siteConfig } from "./fixture.js";

test("unbound resolves the cluster's names through airstrap as an authoritative server (stub zone)", async (t) => {
  const dns = await startDns(siteConfig({ listen: [{ address: "127.0.0.85", port: 0 }] }), silentEvents);
  t.after(() => dns.close());
  const at = dns.addresses[0]!.replace(":", "@");
  const unbound = await startUnbound({
    address: "127.0.0.86",
    stubZones: { "edge.lan.": at, "0.77.10.in-addr.arpa.": at },
  });
  t.after(() => unbound.stop());
  const git = await dig(unbound.endpoint, "git.edge.lan");
  assert.equal(git.status, "NOERROR");
  assert.deepEqual(git.answer.map((r) => r.data).sort(), ["10.77.0.20", "10.77.0.30"]);
  const wildcard = await dig(unbound.endpoint, "grafana.apps.edge.lan");
  assert.deepEqual(
    wildcard.answer.map((r) => r.type),
    ["CNAME", "A"],
  );
  assert.equal(wildcard.answer[1]?.data, "10.77.0.11");
  const missing = await dig(unbound.endpoint, "missing.edge.lan");
  assert.equal(missing.status, "NXDOMAIN");
  assert.equal(missing.authority[0]?.type, "SOA");
  const nodata = await dig(unbound.endpoint, "k8s-server-01.edge.lan", "AAAA");
  assert.equal(nodata.status, "NOERROR");
  assert.equal(nodata.answer.length, 0);
  const srv = await dig(unbound.endpoint, "_ldap._tcp.edge.lan", "SRV");
  assert.deepEqual(
    srv.answer.map((r) => r.data),
    ["10 5 389 git.edge.lan."],
  );
  const ptr = await dig(unbound.endpoint, "12.0.77.10.in-addr.arpa", "PTR");
  assert.deepEqual(
    ptr.answer.map((r) => r.data),
    ["k8s-server-02.edge.lan."],
  );
  const big = await dig(unbound.endpoint, "big.edge.lan", "TXT");
  assert.equal(big.answer.length, 40);
});
