import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { runDns } from "../../../src/cli/dns-standalone.js";
import { type AirstrapEvent, createEvents, silentEvents } from "../../../src/events.js";
import { startDns } from "../../../src/services/dns/service.js";
import { dig, serverOf } from "../../peers/dig.js";
import { siteConfig } from "./fixture.js";
import { openTcp, rawQuery } from "./raw-client.js";
import { assertNoQueryDroppedAcrossReloads } from "./reload-under-load.js";

const EXAMPLE = new URL("../../../examples/rke2-ha.yaml", import.meta.url);

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "airstrap-dns-reload-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Asks until the answer is `expected`; returns the milliseconds that took. */
async function msUntilAnswer(server: string, name: string, expected: string, limitMs: number): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < limitMs) {
    const out = await dig(server, name, "A", ["+timeout=1"]);
    if (out.answer[0]?.data === expected) return performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Number.POSITIVE_INFINITY;
}

test("an edited manifest is served within 1 s; a broken edit keeps the old data", async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, "cluster.yaml");
  const original = await readFile(EXAMPLE, "utf8");
  await writeFile(file, original);
  const events = createEvents();
  const seen: AirstrapEvent[] = [];
  events.subscribe((event) => seen.push(event));
  const dns = await runDns(
    { kind: "manifest", file, node: "k8s-server-02", options: { listen: [{ address: "127.0.0.92", port: 0 }] } },
    events,
  );
  t.after(() => dns.stop());
  const server = dns.service.addresses[0]!;
  assert.equal((await dig(server, "git.edge.lan")).answer[0]?.data, "10.77.0.30");

  await writeFile(file, original.replace("value: 10.77.0.30", "value: 10.77.0.31"));
  const elapsed = await msUntilAnswer(server, "git.edge.lan", "10.77.0.31", 5000);
  assert.ok(elapsed <= 1000, `new answer after ${elapsed.toFixed(0)} ms`);

  await writeFile(file, original.replace("value: 10.77.0.30", "value: not-an-address"));
  for (let i = 0; i < 100 && !seen.some((e) => e.kind === "dns.reload.failed"); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok(seen.some((e) => e.kind === "dns.reload.failed" && e.level === "error"));
  assert.equal((await dig(server, "git.edge.lan")).answer[0]?.data, "10.77.0.31");
});

test("flag form: an edited records file is served within 1 s", async (t) => {
  const dir = await tempDir(t);
  const records = join(dir, "records.yaml");
  await writeFile(records, "records:\n  - { name: db, type: A, value: 10.9.0.1 }\n");
  const dns = await runDns(
    {
      kind: "flags",
      flags: {
        domain: "site.lan",
        nodeName: "n1",
        nodeAddress: ["10.9.0.10"],
        host: ["n2=10.9.0.11"],
        record: ["www CNAME db"],
        upstream: [],
        allow: [],
        listen: ["127.0.0.93:0"],
      },
      recordsFile: records,
    },
    silentEvents,
  );
  t.after(() => dns.stop());
  const server = dns.service.addresses[0]!;
  assert.deepEqual(
    (await dig(server, "www.site.lan")).answer.map((r) => r.data),
    ["db.site.lan.", "10.9.0.1"],
  );
  assert.equal((await dig(server, "cluster.site.lan")).answer[0]?.data, "10.9.0.10");
  assert.equal((await dig(server, "n2.site.lan")).answer[0]?.data, "10.9.0.11");
  await writeFile(records, "records:\n  - { name: db, type: A, value: 10.9.0.2 }\n");
  const elapsed = await msUntilAnswer(server, "db.site.lan", "10.9.0.2", 5000);
  assert.ok(elapsed <= 1000, `new answer after ${elapsed.toFixed(0)} ms`);
});

test("no query is dropped while the data is swapped under load", async (t) => {
  const config = siteConfig({ listen: [{ address: "127.0.0.94", port: 0 }] });
  const dns = await startDns(config, silentEvents);
  t.after(() => dns.close());
  await assertNoQueryDroppedAcrossReloads(t, dns, config, "127.0.0.94", 30_000);
});

test("an open TCP connection keeps working across a reload", async (t) => {
  const config = siteConfig({ listen: [{ address: "127.0.0.95", port: 0 }] });
  const dns = await startDns(config, silentEvents);
  t.after(() => dns.close());
  const server = dns.addresses[0]!;
  const connection = await openTcp(server);
  t.after(() => connection.close());
  const before = await connection.ask(rawQuery(1, "info.edge.lan", 16));
  assert.ok(before.includes(Buffer.from("hello world")));
  await dns.reload({
    ...config,
    listen: [serverOf(server)],
    records: [{ name: "info.edge.lan", type: "TXT", value: "new" }],
  });
  const after = await connection.ask(rawQuery(2, "info.edge.lan", 16));
  assert.equal(after.readUInt16BE(0), 2);
  assert.ok(after.includes(Buffer.from("\x03new", "latin1")));
  assert.match(dns.metrics(), /airstrap_dns_reloads_total 1/);
});
