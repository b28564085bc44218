import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { silentEvents } from "../../../src/events.js";
import type { DnsConfig } from "../../../src/services/dns/config.js";
import { startDns } from "../../../src/services/dns/service.js";
import type { RunningService } from "../../../src/services/service.js";
import { dig, serverOf } from "../../peers/dig.js";
import { siteConfig } from "./fixture.js";
import { idOf, rawQuery, rcodeOf, tcpPipeline, udpExchange } from "./raw-client.js";

describe("EDNS0, truncation and error responses", () => {
  let dns: RunningService<DnsConfig>;
  let server: string;
  before(async () => {
    dns = await startDns(siteConfig({ listen: [{ address: "127.0.0.62", port: 0 }] }), silentEvents);
    server = dns.addresses[0]!;
  });
  after(() => dns.close());

  for (const transport of ["udp", "tcp"]) {
    const t = transport === "tcp" ? ["+tcp"] : [];
    test(`OPT echoed with our payload size, DO echoed, unknown options ignored (${transport})`, async () => {
      const out = await dig(server, "git.edge.lan", "A", [...t, "+dnssec", "+ednsopt=65000:abcd"]);
      assert.equal(out.status, "NOERROR");
      assert.equal(out.edns?.version, 0);
      assert.equal(out.edns?.udp, 1232);
      assert.deepEqual(out.edns?.flags, ["do"]);
      assert.equal(out.answer.length, 2);
      const plain = await dig(server, "git.edge.lan", "A", [...t, "+noedns"]);
      assert.equal(plain.edns, undefined);
    });

    test(`BADVERS for EDNS version 1, with an OPT (${transport})`, async () => {
      const out = await dig(server, "git.edge.lan", "A", [...t, "+edns=1", "+noednsnegotiation"]);
      assert.equal(out.status, "BADVERS");
      assert.equal(out.edns?.version, 0);
      assert.equal(out.answer.length, 0);
    });

    test(`FORMERR for a query without a question, NOTIMP for other opcodes (${transport})`, async () => {
      assert.equal((await dig(server, "git.edge.lan", "A", [...t, "+header-only"])).status, "FORMERR");
      assert.equal((await dig(server, "git.edge.lan", "A", [...t, "+opcode=2"])).status, "NOTIMP");
      assert.equal((await dig(server, "git.edge.lan", "A", [...t, "+opcode=5"])).status, "NOTIMP");
    });
  }

  test("the advertised UDP size is honoured; TC when the answer does not fit; the full answer over TCP", async () => {
    // mid.edge.lan is ~700 octets: too big for 512 and for an advertised 600, fits in 1232.
    const classic = await dig(server, "mid.edge.lan", "TXT", ["+noedns", "+ignore"]);
    assert.ok(classic.flags.includes("tc"));
    assert.equal(classic.answer.length, 0);
    const small = await dig(server, "mid.edge.lan", "TXT", ["+bufsize=600", "+ignore"]);
    assert.ok(small.flags.includes("tc"));
    const fits = await dig(server, "mid.edge.lan", "TXT", ["+bufsize=1232", "+ignore"]);
    assert.ok(!fits.flags.includes("tc"));
    assert.equal(fits.answer.length, 10);
    // big.edge.lan (~2 KB) never fits in UDP, even when the client offers 4096: we send at most 1232.
    const big = await dig(server, "big.edge.lan", "TXT", ["+bufsize=4096", "+ignore"]);
    assert.ok(big.flags.includes("tc"));
    const retried = await dig(server, "big.edge.lan", "TXT", ["+bufsize=4096"]);
    assert.ok(!retried.flags.includes("tc"));
    assert.equal(retried.answer.length, 40);
    const tcp = await dig(server, "big.edge.lan", "TXT", ["+tcp"]);
    assert.equal(tcp.answer.length, 40);
  });

  test("FORMERR for malformed queries, echoing the id; nothing at all for non-queries", async () => {
    const valid = rawQuery(0x1234, "git.edge.lan", 1);
    const truncatedQuestion = valid.subarray(0, valid.length - 3);
    const reply = await udpExchange(server, truncatedQuestion);
    assert.ok(reply);
    assert.equal(idOf(reply), 0x1234);
    assert.equal(rcodeOf(reply), 1);
    const trailing = Buffer.concat([valid, Buffer.from([1, 2, 3])]);
    assert.equal(rcodeOf((await udpExchange(server, trailing))!), 1);
    const compressedQuestion = Buffer.concat([valid.subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
    assert.equal(rcodeOf((await udpExchange(server, compressedQuestion))!), 1);
    // A response (QR set) is never answered: answering responses is how reflection loops start.
    assert.equal(await udpExchange(server, rawQuery(7, "git.edge.lan", 1, { flags: 0x8100 }), 300), undefined);
    assert.equal(await udpExchange(server, Buffer.from([1, 2, 3]), 300), undefined);
  });

  test("TCP: pipelined queries on one connection are all answered (RFC 7766)", async () => {
    const queries = [
      rawQuery(1, "git.edge.lan", 1),
      rawQuery(2, "k8s-server-02.edge.lan", 1),
      rawQuery(3, "missing.edge.lan", 1),
      rawQuery(4, "info.edge.lan", 16),
    ];
    const replies = await tcpPipeline(server, queries);
    assert.deepEqual(replies.map(idOf).sort(), [1, 2, 3, 4]);
    assert.deepEqual(
      replies.map((r) => [idOf(r), rcodeOf(r)]).sort((a, b) => a[0]! - b[0]!),
      [
        [1, 0],
        [2, 0],
        [3, 3],
        [4, 0],
      ],
    );
  });
});

describe("who asks and where", () => {
  test("clients outside the allowed networks are REFUSED, without AA or RA", async (t) => {
    const dns = await startDns(
      siteConfig({ listen: [{ address: "127.0.0.63", port: 0 }], allowedNetworks: ["127.0.0.5/32"] }),
      silentEvents,
    );
    t.after(() => dns.close());
    for (const transport of [[], ["+tcp"]]) {
      const outside = await dig(dns.addresses[0]!, "git.edge.lan", "A", ["-b", "127.0.0.9", ...transport]);
      assert.equal(outside.status, "REFUSED");
      assert.ok(!outside.flags.includes("aa") && !outside.flags.includes("ra"));
      const inside = await dig(dns.addresses[0]!, "git.edge.lan", "A", ["-b", "127.0.0.5", ...transport]);
      assert.equal(inside.status, "NOERROR");
    }
  });

  test("the cluster record is the address the query arrived on when that is the node's, else its configured address", async (t) => {
    const dns = await startDns(
      siteConfig({
        listen: [
          { address: "127.0.0.64", port: 0 },
          { address: "127.0.0.65", port: 0 },
        ],
        node: { name: "k8s-server-01", fqdn: "k8s-server-01.edge.lan", addresses: ["10.77.0.11", "127.0.0.64"] },
      }),
      silentEvents,
    );
    t.after(() => dns.close());
    const [own, other] = dns.addresses;
    for (const transport of [[], ["+tcp"]]) {
      assert.deepEqual(
        (await dig(own!, "edge-cluster.edge.lan", "A", transport)).answer.map((r) => r.data),
        ["127.0.0.64"],
      );
      assert.deepEqual(
        (await dig(other!, "edge-cluster.edge.lan", "A", transport)).answer.map((r) => r.data),
        ["10.77.0.11"],
      );
      // Through a wildcard CNAME, too.
      assert.equal((await dig(own!, "x.apps.edge.lan", "A", transport)).answer[1]?.data, "127.0.0.64");
    }
    // No IPv6 address on this node: AAAA of the cluster record is NODATA.
    const aaaa = await dig(own!, "edge-cluster.edge.lan", "AAAA");
    assert.equal(aaaa.status, "NOERROR");
    assert.equal(aaaa.answer.length, 0);
  });

  test("IPv6: listens on ::1, answers over UDP and TCP", async (t) => {
    const dns = await startDns(siteConfig({ listen: [{ address: "::1", port: 0 }] }), silentEvents);
    t.after(() => dns.close());
    assert.match(dns.addresses[0]!, /^\[::1\]:\d+$/);
    for (const transport of [[], ["+tcp"]]) {
      const out = await dig(dns.addresses[0]!, "k8s-agent-02.edge.lan", "AAAA", transport);
      assert.deepEqual(
        out.answer.map((r) => r.data),
        ["fd00:77::21"],
      );
    }
  });

  test("idle TCP connections are closed (RFC 7766)", async (t) => {
    const dns = await startDns(
      siteConfig({ listen: [{ address: "127.0.0.66", port: 0 }], tcpIdleTimeoutMs: 200 }),
      silentEvents,
    );
    t.after(() => dns.close());
    const { address, port } = serverOf(dns.addresses[0]!);
    const closedByServer = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: address, port });
      const guard = setTimeout(() => {
        socket.destroy();
        resolve(false);
      }, 10_000);
      socket.on("close", () => {
        clearTimeout(guard);
        resolve(true);
      });
      socket.on("error", () => {});
    });
    assert.ok(closedByServer);
  });
});
