import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type AirstrapEvent, createEvents, silentEvents } from "../../../src/events.js";
import type { DnsConfig } from "../../../src/services/dns/config.js";
import { startDns } from "../../../src/services/dns/service.js";
import type { RunningService } from "../../../src/services/service.js";
import { dig, serverOf } from "../../peers/dig.js";
import { startUnbound, type Unbound } from "../../peers/unbound.js";
import { answerFor, questionName, silent, startFakeUpstream } from "./fake-upstream.js";
import { siteConfig } from "./fixture.js";
import { rawQuery, tcpPipeline } from "./raw-client.js";

const UPSTREAM_ZONE = {
  "upstream.test.": [
    "upstream.test. 3600 IN SOA ns.upstream.test. hostmaster.upstream.test. 1 3600 600 86400 5",
    "www.upstream.test. 300 IN A 192.0.2.10",
    "alias.upstream.test. 300 IN CNAME www.upstream.test.",
    ...Array.from({ length: 40 }, (_, i) => `big.upstream.test. 300 IN TXT "${"u".repeat(40)} ${i}"`),
  ],
};

function metric(dns: RunningService<DnsConfig>, pattern: RegExp): number {
  const line = dns
    .metrics()
    .split("\n")
    .find((l) => pattern.test(l));
  return line === undefined ? 0 : Number(line.split(" ").at(-1));
}

function forwarding(upstreams: DnsConfig["upstreams"], address: string, overrides: Partial<DnsConfig> = {}): DnsConfig {
  return siteConfig({ listen: [{ address, port: 0 }], upstreams, ...overrides });
}

describe("forwarding to unbound", () => {
  let unbound: Unbound;
  before(async () => {
    unbound = await startUnbound({ address: "127.0.0.71", zones: UPSTREAM_ZONE });
  });
  after(() => unbound.stop());

  test("outside names are forwarded: not authoritative, RA set, over UDP and TCP", async (t) => {
    const dns = await startDns(forwarding([serverOf(unbound.endpoint)], "127.0.0.72"), silentEvents);
    t.after(() => dns.close());
    for (const transport of [[], ["+tcp"]]) {
      const out = await dig(dns.addresses[0]!, "www.upstream.test", "A", transport);
      assert.equal(out.status, "NOERROR");
      assert.deepEqual(
        out.answer.map((r) => r.data),
        ["192.0.2.10"],
      );
      assert.ok(out.flags.includes("ra"));
      assert.ok(!out.flags.includes("aa"));
    }
    const alias = await dig(dns.addresses[0]!, "ALIAS.upstream.test", "A");
    assert.equal(alias.answer[0]?.type, "CNAME");
    assert.equal(alias.question?.split(/\s+/)[0], "ALIAS.upstream.test.");
    // Own data stays authoritative, with RA now truthfully set.
    const own = await dig(dns.addresses[0]!, "git.edge.lan", "A");
    assert.ok(own.flags.includes("aa") && own.flags.includes("ra"));
  });

  test("a CNAME of ours pointing outside is finished through the upstream (stub resolvers do not chase)", async (t) => {
    const config = forwarding([serverOf(unbound.endpoint)], "127.0.0.83");
    const records = [
      ...config.records,
      { name: "ext.edge.lan", type: "CNAME" as const, value: "www.upstream.test" },
      { name: "gone.edge.lan", type: "CNAME" as const, value: "nothing.upstream.test" },
    ];
    const dns = await startDns({ ...config, records }, silentEvents);
    t.after(() => dns.close());
    for (const transport of [[], ["+tcp"]]) {
      const out = await dig(dns.addresses[0]!, "ext.edge.lan", "A", transport);
      assert.equal(out.status, "NOERROR");
      assert.deepEqual(
        out.answer.map((r) => [r.name, r.type, r.data]),
        [
          ["ext.edge.lan.", "CNAME", "www.upstream.test."],
          ["www.upstream.test.", "A", "192.0.2.10"],
        ],
      );
      assert.ok(!out.flags.includes("aa"));
      assert.ok(out.flags.includes("ra"));
    }
    const gone = await dig(dns.addresses[0]!, "gone.edge.lan", "A");
    assert.equal(gone.status, "NXDOMAIN");
    assert.equal(gone.answer[0]?.type, "CNAME");
    assert.equal(gone.authority[0]?.name, "upstream.test.");
    // Asked for the CNAME itself: ours alone, authoritative.
    const cname = await dig(dns.addresses[0]!, "ext.edge.lan", "CNAME");
    assert.equal(cname.answer.length, 1);
    assert.ok(cname.flags.includes("aa"));
  });

  test("TCP: forwarded answers still arrive after the client shut its sending side", async (t) => {
    const dns = await startDns(forwarding([serverOf(unbound.endpoint)], "127.0.0.84"), silentEvents);
    t.after(() => dns.close());
    const replies = await tcpPipeline(
      dns.addresses[0]!,
      [rawQuery(11, "www.upstream.test", 1), rawQuery(12, "git.edge.lan", 1)],
      2,
      {
        halfClose: true,
      },
    );
    assert.deepEqual(replies.map((r) => r.readUInt16BE(0)).sort(), [11, 12]);
  });

  test("an answer too big for UDP is fetched again over TCP from the upstream", async (t) => {
    const dns = await startDns(forwarding([serverOf(unbound.endpoint)], "127.0.0.73"), silentEvents);
    t.after(() => dns.close());
    const overTcp = await dig(dns.addresses[0]!, "big.upstream.test", "TXT", ["+tcp"]);
    assert.equal(overTcp.answer.length, 40);
    const overUdp = await dig(dns.addresses[0]!, "big.upstream.test", "TXT", ["+ignore"]);
    assert.ok(overUdp.flags.includes("tc"));
    assert.equal((await dig(dns.addresses[0]!, "big.upstream.test", "TXT")).answer.length, 40);
  });

  test("an upstream that times out: the next one answers", async (t) => {
    const blackhole = await startFakeUpstream("127.0.0.74", silent);
    t.after(() => blackhole.close());
    const events = createEvents();
    const seen: AirstrapEvent[] = [];
    events.subscribe((event) => seen.push(event));
    const dns = await startDns(forwarding([blackhole.endpoint, serverOf(unbound.endpoint)], "127.0.0.74"), events);
    t.after(() => dns.close());
    const out = await dig(dns.addresses[0]!, "www.upstream.test", "A");
    assert.deepEqual(
      out.answer.map((r) => r.data),
      ["192.0.2.10"],
    );
    assert.equal(blackhole.seen.length, 1);
    assert.equal(metric(dns, /^airstrap_dns_upstream_failures_total\{upstream="127\.0\.0\.74:/), 1);
    assert.ok(seen.some((e) => e.kind === "dns.upstream.down"));
    // The silent one is demoted: the next question goes to the live upstream first.
    await dig(dns.addresses[0]!, "alias.upstream.test", "A");
    assert.equal(blackhole.seen.length, 1);
  });

  test("an upstream answering with a mismatched question or id is ignored (RFC 5452)", async (t) => {
    const liar = await startFakeUpstream("127.0.0.75", (query) => [
      answerFor(query.readUInt16BE(0), "evil.example", "6.6.6.6"),
      answerFor(query.readUInt16BE(0) ^ 0x5555, questionName(query), "6.6.6.7"),
    ]);
    t.after(() => liar.close());
    const dns = await startDns(forwarding([liar.endpoint, serverOf(unbound.endpoint)], "127.0.0.75"), silentEvents);
    t.after(() => dns.close());
    const out = await dig(dns.addresses[0]!, "www.upstream.test", "A");
    assert.deepEqual(
      out.answer.map((r) => r.data),
      ["192.0.2.10"],
    );
    assert.equal(metric(dns, /reason="question does not match"/), 1);
    assert.equal(metric(dns, /reason="wrong id"/), 1);
  });

  test("every upstream silent: SERVFAIL", async (t) => {
    const blackhole = await startFakeUpstream("127.0.0.76", silent);
    t.after(() => blackhole.close());
    const dns = await startDns(
      forwarding([blackhole.endpoint], "127.0.0.76", { upstreamTimeoutMs: 300 }),
      silentEvents,
    );
    t.after(() => dns.close());
    assert.equal((await dig(dns.addresses[0]!, "www.upstream.test", "A")).status, "SERVFAIL");
  });

  test("random query ids and source ports towards upstreams", async (t) => {
    const recorder = await startFakeUpstream("127.0.0.77", (query) => [
      answerFor(query.readUInt16BE(0), questionName(query), "192.0.2.99"),
    ]);
    t.after(() => recorder.close());
    const dns = await startDns(forwarding([recorder.endpoint], "127.0.0.77"), silentEvents);
    t.after(() => dns.close());
    for (let i = 0; i < 24; i++) {
      assert.equal((await dig(dns.addresses[0]!, `n${i}.random.test`, "A")).answer[0]?.data, "192.0.2.99");
    }
    const ids = recorder.seen.map((s) => s.id);
    const ports = recorder.seen.map((s) => s.port);
    assert.equal(ids.length, 24);
    assert.ok(new Set(ids).size >= 22, `ids repeat: ${ids}`);
    assert.ok(new Set(ports).size >= 22, `ports repeat: ${ports}`);
    const steps = ids.slice(1).map((id, i) => (id - ids[i]! + 0x10000) % 0x10000);
    assert.ok(new Set(steps).size > 2, `ids are sequential: ${ids}`);
  });
});

describe("the cache", () => {
  test("positive and negative answers are served from the cache, TTLs counting down, while the upstream is gone", async (t) => {
    const unbound = await startUnbound({ address: "127.0.0.78", zones: UPSTREAM_ZONE });
    t.after(() => unbound.stop());
    const dns = await startDns(forwarding([serverOf(unbound.endpoint)], "127.0.0.78"), silentEvents);
    t.after(() => dns.close());
    const server = dns.addresses[0]!;
    const first = await dig(server, "www.upstream.test", "A");
    const negative = await dig(server, "missing.upstream.test", "A");
    assert.equal(negative.status, "NXDOMAIN");
    assert.equal(negative.authority[0]?.type, "SOA");
    await unbound.stop();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const again = await dig(server, "www.upstream.test", "A");
    assert.deepEqual(
      again.answer.map((r) => r.data),
      ["192.0.2.10"],
    );
    assert.ok(again.answer[0]!.ttl < first.answer[0]!.ttl, `ttl ${again.answer[0]!.ttl} did not count down`);
    const negativeAgain = await dig(server, "MISSING.upstream.test", "A");
    assert.equal(negativeAgain.status, "NXDOMAIN");
    assert.ok(negativeAgain.authority[0]!.ttl <= 5);
    assert.equal(metric(dns, /^airstrap_dns_cache_hits_total /), 2);
    assert.equal(metric(dns, /^airstrap_dns_cache_misses_total /), 2);
  });

  test("negative answers expire after min(SOA TTL, MINIMUM)", async (t) => {
    const recorder = await startFakeUpstream("127.0.0.79", (query) => {
      // NXDOMAIN with an SOA whose MINIMUM is 1 second.
      const reply = Buffer.from(query);
      reply.writeUInt16BE(0x8183, 2);
      reply.writeUInt16BE(0, 10);
      reply.writeUInt16BE(1, 8);
      const end = 12 + query.subarray(12).indexOf(0) + 5;
      const soa = Buffer.from([
        0, 0, 6, 0, 1, 0, 0, 0, 60, 0, 22, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1,
      ]);
      return [Buffer.concat([reply.subarray(0, end), soa])];
    });
    t.after(() => recorder.close());
    const dns = await startDns(forwarding([recorder.endpoint], "127.0.0.79"), silentEvents);
    t.after(() => dns.close());
    assert.equal((await dig(dns.addresses[0]!, "gone.test", "A")).status, "NXDOMAIN");
    assert.equal((await dig(dns.addresses[0]!, "gone.test", "A")).status, "NXDOMAIN");
    assert.equal(recorder.seen.length, 1);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await dig(dns.addresses[0]!, "gone.test", "A");
    assert.equal(recorder.seen.length, 2);
  });
});

describe("forwarding loops", () => {
  test("a server forwarding to itself detects the loop and answers SERVFAIL", async (t) => {
    const events = createEvents();
    const seen: AirstrapEvent[] = [];
    events.subscribe((event) => seen.push(event));
    const config = forwarding([], "127.0.0.80");
    const dns = await startDns(config, events);
    t.after(() => dns.close());
    await dns.reload({ ...config, listen: [serverOf(dns.addresses[0]!)], upstreams: [serverOf(dns.addresses[0]!)] });
    assert.equal((await dig(dns.addresses[0]!, "www.upstream.test", "A")).status, "SERVFAIL");
    assert.ok(metric(dns, /^airstrap_dns_loops_total /) >= 1);
    assert.ok(seen.some((e) => e.kind === "dns.loop" && e.level === "error"));
  });

  test("two servers forwarding to each other detect the loop", async (t) => {
    const a = await startDns(forwarding([], "127.0.0.81"), silentEvents);
    t.after(() => a.close());
    const b = await startDns(forwarding([serverOf(a.addresses[0]!)], "127.0.0.82"), silentEvents);
    t.after(() => b.close());
    await a.reload(forwarding([serverOf(b.addresses[0]!)], "127.0.0.81", { listen: [serverOf(a.addresses[0]!)] }));
    assert.equal((await dig(a.addresses[0]!, "www.upstream.test", "A")).status, "SERVFAIL");
    assert.ok(metric(a, /^airstrap_dns_loops_total /) + metric(b, /^airstrap_dns_loops_total /) >= 1);
  });
});
