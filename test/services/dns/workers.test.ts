import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { silentEvents } from "../../../src/events.js";
import { startDns } from "../../../src/services/dns/service.js";
import { freePort, startUnbound } from "../../peers/unbound.js";
import { siteConfig } from "./fixture.js";
import {
  AIRSTRAP_FROM_SOURCE,
  airstrapCli,
  isRunning,
  metricSum,
  ONE_NODE_FLAGS,
  type RunningCli,
  SITE_FLAGS,
  waitFor,
  withOnly,
  workerPidsOf,
} from "./processes.js";
import { lastAddressOf, rawQuery, rcodeOf, udpExchange } from "./raw-client.js";
import { assertNoQueryDroppedAcrossReloads } from "./reload-under-load.js";

const A = 1;
const AAAA = 28;

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "airstrap-dns-workers-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** `airstrap dns` in the flag form with a records file, on `address`; resolves once it listens. */
async function startCli(
  t: { after(fn: () => unknown): void },
  address: string,
  recordsFile: string,
  extra: string[],
): Promise<{ run: RunningCli; server: string; http: string }> {
  const port = await freePort(address);
  const httpPort = await freePort(address);
  const run = airstrapCli([
    "dns",
    ...SITE_FLAGS,
    "--record",
    "*.apps CNAME cluster",
    "--records",
    recordsFile,
    "--allow",
    "127.0.0.0/8",
    "--listen",
    `${address}:${port}`,
    "--http",
    `${address}:${httpPort}`,
    ...extra,
  ]);
  t.after(() => run.child.kill("SIGKILL"));
  await waitFor(() => run.stderr().includes("DNS listening on"), "the server to listen");
  return { run, server: `${address}:${port}`, http: `http://${address}:${httpPort}/metrics` };
}

test("every worker process answers exactly as the primary does; forwarded names go through the primary; metrics add up", async (t) => {
  const dir = await tempDir(t);
  const records = join(dir, "records.yaml");
  await writeFile(records, "records:\n  - { name: db, type: A, value: 10.9.0.1 }\n");
  const unbound = await startUnbound({
    address: "127.0.0.151",
    zones: { "fwd.test.": ["www.fwd.test. 300 IN A 192.0.2.7"] },
  });
  t.after(() => unbound.stop());
  const { run, server, http } = await startCli(t, "127.0.0.152", records, [
    "--upstream",
    unbound.endpoint,
    "--workers",
    "3",
  ]);
  const primary = run.child.pid!;
  const workers = workerPidsOf(primary);
  assert.equal(workers.length, 2, `workers: ${workers}`);
  const everyone = [primary, ...workers];

  const queries = [
    rawQuery(1, "n2.site.lan", A),
    rawQuery(2, "cluster.site.lan", A),
    rawQuery(3, "x.apps.site.lan", A),
    rawQuery(4, "nope.site.lan", A),
    rawQuery(5, "db.site.lan", AAAA),
    rawQuery(6, "db.site.lan", A),
    Buffer.concat([rawQuery(7, "n2.site.lan", A), Buffer.from([0])]),
  ];
  const answersBy = new Map<number, (Buffer | undefined)[]>();
  for (const pid of everyone) {
    answersBy.set(
      pid,
      await withOnly(everyone, pid, async () => {
        const replies: (Buffer | undefined)[] = [];
        for (const query of queries) replies.push(await udpExchange(server, query, 5000));
        return replies;
      }),
    );
  }
  const fromPrimary = answersBy.get(primary)!;
  assert.equal(lastAddressOf(fromPrimary[0]), "10.9.0.11");
  assert.equal(lastAddressOf(fromPrimary[2]), "10.9.0.10");
  assert.deepEqual(
    fromPrimary.map((reply) => reply && rcodeOf(reply)),
    [0, 0, 0, 3, 0, 0, 1],
  );
  for (const pid of workers) {
    assert.deepEqual(answersBy.get(pid), fromPrimary, `worker ${pid} answers differently`);
  }

  // A forwarded name read by a worker alone is answered once the primary (which forwards) runs again.
  for (const pid of workers) {
    const reply = await withOnly(everyone, pid, async () => {
      const pending = udpExchange(server, rawQuery(8, "www.fwd.test", A), 10_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      process.kill(primary, "SIGCONT");
      return pending;
    });
    assert.equal(lastAddressOf(reply), "192.0.2.7");
  }

  const page = await (await fetch(http)).text();
  // 6 well-formed queries per process (the malformed one counts as a response only), 2 forwarded.
  assert.equal(metricSum(page, "airstrap_dns_queries_total"), 6 * everyone.length + 2);
  assert.equal(metricSum(page, "airstrap_dns_responses_total"), queries.length * everyone.length + 2);
  assert.match(page, /\nairstrap_dns_processes 3\n/);

  // A reload reaches every process before it is reported.
  await writeFile(records, "records:\n  - { name: db, type: A, value: 10.9.0.2 }\n");
  await waitFor(() => run.stderr().includes("DNS data reloaded"), "the reload", 10_000);
  for (const pid of everyone) {
    const reply = await withOnly(everyone, pid, () => udpExchange(server, rawQuery(9, "db.site.lan", A), 5000));
    assert.equal(lastAddressOf(reply), "10.9.0.2", `process ${pid} after the reload`);
  }

  run.child.kill("SIGTERM");
  assert.equal((await run.exited).code, 0);
  for (const pid of workers) assert.equal(isRunning(pid), false, `worker ${pid} outlived the primary`);
});

test("a worker that dies is replaced, and the replacement serves", async (t) => {
  const dir = await tempDir(t);
  const records = join(dir, "records.yaml");
  await writeFile(records, "records:\n  - { name: db, type: A, value: 10.9.0.1 }\n");
  const { run, server, http } = await startCli(t, "127.0.0.153", records, ["--workers", "2"]);
  const primary = run.child.pid!;
  const [first] = workerPidsOf(primary);
  assert.ok(first !== undefined);
  process.kill(first, "SIGKILL");
  let replacement: number | undefined;
  await waitFor(() => {
    replacement = workerPidsOf(primary).find((pid) => pid !== first);
    return replacement !== undefined && run.stderr().includes(`DNS worker ${replacement} serving`);
  }, "a replacement worker");
  assert.match(run.stderr(), new RegExp(`DNS worker ${first} exited \\(SIGKILL\\)`));
  const reply = await withOnly([primary, replacement!], replacement!, () =>
    udpExchange(server, rawQuery(1, "db.site.lan", A), 5000),
  );
  assert.equal(lastAddressOf(reply), "10.9.0.1");
  const page = await (await fetch(http)).text();
  assert.match(page, /\nairstrap_dns_worker_restarts_total 1\n/);
  assert.match(page, /\nairstrap_dns_processes 2\n/);
  run.child.kill("SIGINT");
  assert.equal((await run.exited).code, 0);
  assert.equal(isRunning(replacement!), false);
});

test("--workers must be a whole number from 1 to 64", async () => {
  for (const value of ["0", "two", "65"]) {
    const result = await airstrapCli(["dns", ...ONE_NODE_FLAGS, "--listen", "127.0.0.154:0", "--workers", value])
      .exited;
    assert.equal(result.code, 2);
    assert.match(result.stderr, new RegExp(`error: --workers ${value}: expected a whole number from 1 to 64`));
  }
  const byHand = await airstrapCli(["dns-worker"]).exited;
  assert.equal(byHand.code, 1);
  assert.match(byHand.stderr, /error: airstrap dns-worker is started by the DNS server itself/);
});

test("startDns with worker processes: no query is dropped while the data is swapped under load", async (t) => {
  const config = siteConfig({ listen: [{ address: "127.0.0.155", port: 0 }] });
  const dns = await startDns(config, silentEvents, { workers: 3, workerCommand: AIRSTRAP_FROM_SOURCE });
  t.after(() => dns.close());
  assert.equal(dns.workerPids.length, 2);
  await assertNoQueryDroppedAcrossReloads(t, dns, config, "127.0.0.155", 60_000);
  const workers = dns.workerPids;
  await dns.close();
  for (const pid of workers) assert.equal(isRunning(pid), false, `worker ${pid} outlived close()`);
});
