import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { silentEvents } from "../../../src/events.js";
import type { DnsConfig } from "../../../src/services/dns/config.js";
import { startDns } from "../../../src/services/dns/service.js";
import type { RunningService } from "../../../src/services/service.js";
import { dig } from "../../peers/dig.js";
import { kdig } from "../../peers/kdig.js";
import { siteConfig } from "./fixture.js";

// Every behaviour over both transports: dig over UDP, then dig +tcp.
for (const transport of ["udp", "tcp"] as const) {
  describe(`authoritative answers over ${transport}`, () => {
    let dns: RunningService<DnsConfig>;
    const options = transport === "tcp" ? ["+tcp"] : [];
    const ask = (name: string, type = "A", extra: string[] = []) =>
      dig(dns.addresses[0]!, name, type, [...options, ...extra]);

    before(async () => {
      dns = await startDns(siteConfig(), silentEvents);
    });
    after(() => dns.close());

    test("A of every host, AAAA of an IPv6 host", async () => {
      const one = await ask("k8s-server-01.edge.lan");
      assert.equal(one.status, "NOERROR");
      assert.ok(one.flags.includes("aa"));
      assert.deepEqual(
        one.answer.map((r) => r.data),
        ["10.77.0.11"],
      );
      assert.deepEqual(
        (await ask("k8s-server-02.edge.lan")).answer.map((r) => r.data),
        ["10.77.0.12"],
      );
      assert.deepEqual(
        (await ask("k8s-agent-02.edge.lan", "AAAA")).answer.map((r) => r.data),
        ["fd00:77::21"],
      );
    });

    test("NXDOMAIN for a missing name: SOA in authority, negative TTL = min(SOA TTL, MINIMUM) (RFC 2308)", async () => {
      const out = await ask("missing.edge.lan");
      assert.equal(out.status, "NXDOMAIN");
      assert.ok(out.flags.includes("aa"));
      assert.equal(out.answer.length, 0);
      assert.equal(out.authority.length, 1);
      const soa = out.authority[0]!;
      assert.equal(soa.type, "SOA");
      assert.equal(soa.name, "edge.lan.");
      const minimum = Number(soa.data.split(" ").at(-1));
      assert.equal(Math.min(soa.ttl, minimum), 30);
    });

    test("NODATA for an existing name and a missing type (RFC 2308, RFC 3596 AAAA on an A-only name)", async () => {
      const out = await ask("k8s-server-01.edge.lan", "AAAA");
      assert.equal(out.status, "NOERROR");
      assert.equal(out.answer.length, 0);
      assert.equal(out.authority[0]?.type, "SOA");
    });

    test("empty non-terminals are NODATA, not NXDOMAIN (RFC 8020)", async () => {
      const out = await ask("ent.edge.lan");
      assert.equal(out.status, "NOERROR");
      assert.equal(out.answer.length, 0);
      assert.equal(out.authority[0]?.type, "SOA");
      assert.equal((await ask("below.deep.ent.edge.lan")).status, "NXDOMAIN");
    });

    test("the cluster record is the node itself", async () => {
      const out = await ask("edge-cluster.edge.lan");
      assert.deepEqual(
        out.answer.map((r) => r.data),
        ["10.77.0.11"],
      );
      assert.ok(out.flags.includes("aa"));
    });

    test("wildcards synthesise, follow the CNAME in the zone, and never shadow existing names (RFC 4592)", async () => {
      const synthesised = await ask("grafana.apps.edge.lan");
      assert.deepEqual(
        synthesised.answer.map((r) => [r.name, r.type, r.data]),
        [
          ["grafana.apps.edge.lan.", "CNAME", "edge-cluster.edge.lan."],
          ["edge-cluster.edge.lan.", "A", "10.77.0.11"],
        ],
      );
      assert.equal((await ask("a.b.apps.edge.lan")).answer[0]?.type, "CNAME");
      const existing = await ask("static.apps.edge.lan");
      assert.deepEqual(
        existing.answer.map((r) => [r.type, r.data]),
        [["A", "10.77.0.40"]],
      );
      const existingOtherType = await ask("static.apps.edge.lan", "TXT");
      assert.equal(existingOtherType.status, "NOERROR");
      assert.equal(existingOtherType.answer.length, 0);
      assert.equal((await ask("apps.edge.lan")).answer.length, 0);
    });

    test("CNAME chains are followed inside the zone; a dangling one ends in NXDOMAIN; a loop is SERVFAIL", async () => {
      const www = await ask("www.edge.lan");
      assert.deepEqual(
        www.answer.map((r) => r.type),
        ["CNAME", "A", "A"],
      );
      // RFC 2181: one TTL per RRset, the lowest of the records.
      assert.deepEqual(
        www.answer.slice(1).map((r) => r.ttl),
        [120, 120],
      );
      const dangling = await ask("dangling.edge.lan");
      assert.equal(dangling.status, "NXDOMAIN");
      assert.equal(dangling.answer[0]?.type, "CNAME");
      assert.equal(dangling.authority[0]?.type, "SOA");
      assert.equal((await ask("loop1.edge.lan")).status, "SERVFAIL");
      assert.equal((await ask("www.edge.lan", "CNAME")).answer.length, 1);
    });

    test("case-insensitive matching, the question's case echoed (RFC 4343)", async () => {
      const out = await ask("K8S-Server-01.EDGE.lan");
      assert.equal(out.status, "NOERROR");
      assert.equal(out.question?.split(/\s+/)[0], "K8S-Server-01.EDGE.lan.");
      assert.equal(out.answer[0]?.name, "K8S-Server-01.EDGE.lan.");
      assert.equal(out.answer[0]?.data, "10.77.0.11");
    });

    test("SOA and NS at the apex, with the name server's address as glue", async () => {
      const soa = await ask("edge.lan", "SOA");
      assert.match(
        soa.answer[0]?.data ?? "",
        /^k8s-server-01\.edge\.lan\. hostmaster\.edge\.lan\. \d+ 3600 600 86400 30$/,
      );
      const ns = await ask("edge.lan", "NS");
      assert.deepEqual(
        ns.answer.map((r) => r.data),
        ["k8s-server-01.edge.lan."],
      );
      assert.deepEqual(
        ns.additional.filter((r) => r.type === "A").map((r) => r.data),
        ["10.77.0.11"],
      );
    });

    test("SRV with target glue, TXT", async () => {
      const srv = await ask("_ldap._tcp.edge.lan", "SRV");
      assert.deepEqual(
        srv.answer.map((r) => r.data),
        ["10 5 389 git.edge.lan."],
      );
      assert.deepEqual(
        srv.additional
          .filter((r) => r.type === "A")
          .map((r) => r.data)
          .sort(),
        ["10.77.0.20", "10.77.0.30"],
      );
      assert.deepEqual(
        (await ask("info.edge.lan", "TXT")).answer.map((r) => r.data),
        ['"hello world"'],
      );
    });

    test("PTR for the hosts' reverse zones, answered locally; private reverse zones never forwarded (RFC 6303)", async () => {
      assert.deepEqual(
        (await ask("11.0.77.10.in-addr.arpa", "PTR")).answer.map((r) => r.data),
        ["k8s-server-01.edge.lan."],
      );
      assert.deepEqual(
        (await dig(dns.addresses[0]!, "-x", "fd00:77::21", options)).answer.map((r) => r.data),
        ["k8s-agent-02.edge.lan."],
      );
      // An extra A record gets a PTR too; an unknown address in the zone is NXDOMAIN with the reverse zone's SOA.
      assert.deepEqual(
        (await ask("20.0.77.10.in-addr.arpa", "PTR")).answer.map((r) => r.data),
        ["git.edge.lan."],
      );
      const unknown = await ask("99.0.77.10.in-addr.arpa", "PTR");
      assert.equal(unknown.status, "NXDOMAIN");
      assert.equal(unknown.authority[0]?.name, "0.77.10.in-addr.arpa.");
      const privateRange = await ask("1.1.168.192.in-addr.arpa", "PTR");
      assert.equal(privateRange.status, "NXDOMAIN");
      assert.ok(privateRange.flags.includes("aa"));
    });

    test("localhost. is the loopback address and invalid. never exists (RFC 6761)", async () => {
      assert.deepEqual(
        (await ask("localhost")).answer.map((r) => r.data),
        ["127.0.0.1"],
      );
      assert.deepEqual(
        (await ask("anything.localhost", "AAAA")).answer.map((r) => r.data),
        ["::1"],
      );
      assert.deepEqual(
        (await ask("1.0.0.127.in-addr.arpa", "PTR")).answer.map((r) => r.data),
        ["localhost."],
      );
      const invalid = await ask("host.invalid");
      assert.equal(invalid.status, "NXDOMAIN");
      assert.equal(invalid.authority[0]?.type, "SOA");
    });

    test("minimal ANY: one RRset (RFC 8482)", async () => {
      const out = await ask("git.edge.lan", "ANY");
      assert.equal(out.status, "NOERROR");
      assert.deepEqual([...new Set(out.answer.map((r) => r.type))], ["A"]);
      assert.equal((await ask("missing.edge.lan", "ANY")).status, "NXDOMAIN");
    });

    test("AA only on own data, RA off while no upstream is configured, outside names REFUSED", async () => {
      const own = await ask("git.edge.lan");
      assert.ok(own.flags.includes("aa"));
      assert.ok(!own.flags.includes("ra"));
      const outside = await ask("example.org");
      assert.equal(outside.status, "REFUSED");
      assert.ok(!outside.flags.includes("aa"));
      assert.ok(!outside.flags.includes("ra"));
    });

    test("kdig agrees: wildcard CNAME, NXDOMAIN with SOA, TXT", async () => {
      const kOptions = transport === "tcp" ? ["+tcp"] : [];
      const wildcard = await kdig(dns.addresses[0]!, "x.apps.edge.lan", "A", kOptions);
      assert.equal(wildcard.RCODE, 0);
      assert.equal(wildcard.AA, 1);
      assert.deepEqual(
        wildcard.answerRRs?.map((r) => r.TYPEname),
        ["CNAME", "A"],
      );
      const missing = await kdig(dns.addresses[0]!, "nope.edge.lan", "A", kOptions);
      assert.equal(missing.RCODE, 3);
      assert.equal(missing.authorityRRs?.[0]?.TYPEname, "SOA");
      const txt = await kdig(dns.addresses[0]!, "info.edge.lan", "TXT", kOptions);
      assert.equal(txt.answerRRs?.[0]?.rdataTXT, '"hello world"');
    });
  });
}
