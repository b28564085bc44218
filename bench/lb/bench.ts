/**
 * airstrap's load balancer vs HAProxy (Debian, one thread, equivalent TCP config), same machine,
 * same run: bulk throughput (iperf3), short connections per second and added latency of a small
 * request/response (wrk against a tiny HTTP backend), and the failover window when a backend is
 * killed under continuous connections. Every process runs in the foreground on 127.0.0.x high
 * ports and is killed at the end. Best of ROUNDS per figure (the machine is shared and noisy).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import {
  type RunningHaproxy,
  startHaproxy,
  tcpBalancerConfig,
  tinyHttpBackendConfig,
} from "../../test/peers/haproxy.js";
import { iperf3Throughput, startIperf3Server } from "../../test/peers/iperf3.js";
import { runWrk } from "../../test/peers/wrk.js";

const SECONDS = Number(process.env.LB_BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.LB_BENCH_ROUNDS ?? 3);

const cleanups: Array<() => Promise<void>> = [];
const later = (cleanup: () => Promise<void>) => cleanups.push(cleanup);

async function freePort(address: string): Promise<number> {
  const server = net.createServer().listen(0, address);
  await once(server, "listening");
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Balancer {
  endpoint: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

async function waitAccepting(endpoint: string): Promise<void> {
  const [host, port] = [
    endpoint.slice(0, endpoint.lastIndexOf(":")),
    Number(endpoint.slice(endpoint.lastIndexOf(":") + 1)),
  ];
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host, port });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${endpoint} never accepted`);
    await sleep(50);
  }
}

const progress = (text: string) => process.stderr.write(`  … ${text}\n`);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The lb verb as it ships: one esbuild bundle run by plain node (the tsx loader would add its own
 * overhead and is not what operators run).
 */
async function bundleCli(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "airstrap-lb-bench-"));
  later(async () => rmSync(dir, { recursive: true, force: true }));
  const outfile = join(dir, "airstrap.cjs");
  await build({
    entryPoints: ["bench/lb/lb-process.ts"],
    outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    logLevel: "error",
  });
  return outfile;
}

let cli = "";

async function startAirstrap(listenAddress: string, backends: string[], extra: string[] = []): Promise<Balancer> {
  const endpoint = `${listenAddress}:${await freePort(listenAddress)}`;
  const child = spawn(
    process.execPath,
    [cli, "lb", "--listen", endpoint, ...backends.flatMap((b) => ["--backend", b]), ...extra],
    { stdio: ["ignore", "ignore", "ignore"], env: { ...process.env, NO_COLOR: "1" } },
  );
  const balancer = await accepting(child, endpoint);
  await sleep(1500); // first checks
  return balancer;
}

/** The runtime's floor (node-floor.ts): the plainest proxy on the same libuv handles. */
async function startNodeFloor(listenAddress: string, backend: string): Promise<Balancer> {
  const endpoint = `${listenAddress}:${await freePort(listenAddress)}`;
  const child = spawn(process.execPath, ["--import", "tsx", "bench/lb/node-floor.ts", endpoint, backend], {
    cwd: new URL("../../", import.meta.url).pathname,
    stdio: ["ignore", "ignore", "ignore"],
  });
  return accepting(child, endpoint);
}

/** A balancer process once it accepts; stopped with SIGTERM (SIGKILL after 15 s) at the end. */
async function accepting(child: ChildProcess, endpoint: string): Promise<Balancer> {
  const exited = once(child, "exit");
  await waitAccepting(endpoint);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(15_000).then(() => child.kill("SIGKILL"))]);
    }
  };
  later(stop);
  return { endpoint, pid: child.pid, stop };
}

async function startHaproxyBalancer(
  listenAddress: string,
  backends: string[],
  check = "",
  extra: string[] = [],
): Promise<Balancer> {
  const endpoint = `${listenAddress}:${await freePort(listenAddress)}`;
  const haproxy = await startHaproxy(tcpBalancerConfig({ listen: endpoint, backends, check, extra }), endpoint);
  later(haproxy.stop);
  await sleep(500);
  return { endpoint, pid: haproxy.child.pid, stop: haproxy.stop };
}

async function startTinyHttp(address: string, port?: number): Promise<{ endpoint: string; server: RunningHaproxy }> {
  const chosen = port ?? (await freePort(address));
  const server = await startHaproxy(tinyHttpBackendConfig(address, chosen), `${address}:${chosen}`);
  later(server.stop);
  return { endpoint: `${address}:${chosen}`, server };
}

const best = (values: number[], pick: "max" | "min") => (pick === "max" ? Math.max(...values) : Math.min(...values));

/** CPU time (user + system) a process has used so far, in ms. */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  // utime and stime are fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 per second).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface Sample {
  value: number;
  extra?: number;
  /** Work done in the run (GiB, thousands of connections): CPU is reported per unit. */
  units: number;
}

/**
 * ROUNDS rounds over every target, the order rotated each round, so that a burst of load from
 * elsewhere on the machine does not land on one target only.
 */
async function interleaved(
  targets: Array<{ endpoint: string; pid?: number }>,
  measure: (endpoint: string) => Promise<Sample>,
): Promise<Array<{ values: number[]; extras: number[]; cpuMsPerUnit: number }>> {
  const results = targets.map(() => ({ values: [] as number[], extras: [] as number[], cpu: 0, units: 0 }));
  // One untimed pass first: the JIT should be warm in the proxy being measured, as in service.
  for (const target of targets) await measure(target.endpoint);
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < targets.length; i++) {
      const index = (i + round) % targets.length;
      const target = targets[index]!;
      const before = cpuMs(target.pid);
      const sample = await measure(target.endpoint);
      const result = results[index]!;
      result.cpu += cpuMs(target.pid) - before;
      result.units += sample.units;
      result.values.push(sample.value);
      if (sample.extra !== undefined) result.extras.push(sample.extra);
    }
  }
  return results.map((r) => ({ values: r.values, extras: r.extras, cpuMsPerUnit: r.cpu / Math.max(r.units, 1e-9) }));
}

interface Attempt {
  startedAt: number;
  endedAt: number;
  ok: boolean;
}

/** Continuous short HTTP/1.0 requests on new connections; returns every attempt. */
async function hammer(endpoint: string, workers: number, durationMs: number, onStart: () => void): Promise<Attempt[]> {
  const [host, port] = [
    endpoint.slice(0, endpoint.lastIndexOf(":")),
    Number(endpoint.slice(endpoint.lastIndexOf(":") + 1)),
  ];
  const attempts: Attempt[] = [];
  const stopAt = performance.now() + durationMs;
  onStart();
  const once_ = () =>
    new Promise<boolean>((resolve) => {
      const socket = net.connect({ host, port });
      let data = "";
      const timer = setTimeout(() => done(false), 5000);
      const done = (ok: boolean) => {
        clearTimeout(timer);
        socket.destroy();
        resolve(ok);
      };
      socket.setEncoding("utf8");
      socket.on("connect", () => socket.write("GET / HTTP/1.0\r\n\r\n"));
      socket.on("data", (chunk: string) => {
        data += chunk;
      });
      socket.on("end", () => done(data.startsWith("HTTP/1.1 200")));
      socket.on("error", () => done(false));
    });
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < stopAt) {
        const startedAt = performance.now();
        const ok = await once_();
        attempts.push({ startedAt, endedAt: performance.now(), ok });
        await sleep(2);
      }
    }),
  );
  return attempts;
}

async function failover(
  name: string,
  start: (backends: string[]) => Promise<Balancer>,
  durationMs: number,
): Promise<{ name: string; windowMs: number; failed: number; total: number }> {
  const a = await startTinyHttp("127.0.0.2");
  const b = await startTinyHttp("127.0.0.3");
  const balancer = await start([a.endpoint, b.endpoint]);
  let killAt = 0;
  const load = hammer(balancer.endpoint, 4, durationMs, () => {
    killAt = performance.now() + 2000;
  });
  await sleep(2000);
  await a.server.kill();
  const attempts = await load;
  await balancer.stop();
  await b.server.stop();
  const failed = attempts.filter((x) => !x.ok);
  const windowMs =
    failed.length === 0 ? 0 : Math.max(...failed.map((x) => x.endedAt)) - Math.min(...failed.map((x) => x.startedAt));
  void killAt;
  return { name, windowMs, failed: failed.length, total: attempts.length };
}

async function main() {
  cli = await bundleCli();
  const rows: string[][] = [];
  const fmt = (n: number, digits = 0) => n.toFixed(digits);

  // Throughput: iperf3 direct, through HAProxy, through airstrap.
  const iperfPort = await freePort("127.0.0.2");
  const iperf = await startIperf3Server("127.0.0.2", iperfPort);
  later(iperf.stop);
  const iperfBackend = `127.0.0.2:${iperfPort}`;
  const haproxyTcp = await startHaproxyBalancer("127.0.0.10", [iperfBackend]);
  const airstrapTcp = await startAirstrap("127.0.0.11", [iperfBackend]);
  progress("iperf3: direct, haproxy, airstrap, interleaved");
  const throughput = await interleaved([{ endpoint: iperfBackend }, haproxyTcp, airstrapTcp], async (endpoint) => {
    const [host, port] = endpoint.split(":") as [string, string];
    const bps = await iperf3Throughput(host, Number(port), SECONDS);
    return { value: bps / 1e9, units: (bps * SECONDS) / 8 / 2 ** 30 };
  });
  const [tDirect, tHaproxy, tAirstrap] = throughput.map((t) => best(t.values, "max"));
  const [, cpuGiBHaproxy, cpuGiBAirstrap] = throughput.map((t) => t.cpuMsPerUnit);
  rows.push([
    "bulk throughput (iperf3, Gbit/s)",
    fmt(tDirect!, 2),
    fmt(tHaproxy!, 2),
    fmt(tAirstrap!, 2),
    fmt(tAirstrap! / tHaproxy!, 2),
    "≥ 0.9",
  ]);
  rows.push([
    "  proxy CPU per GiB forwarded (ms)",
    "",
    fmt(cpuGiBHaproxy!),
    fmt(cpuGiBAirstrap!),
    fmt(cpuGiBHaproxy! / cpuGiBAirstrap!, 2),
    "efficiency",
  ]);
  await Promise.all([haproxyTcp.stop(), airstrapTcp.stop(), iperf.stop()]);

  // Short connections and latency against a tiny HTTP backend.
  const tiny = await startTinyHttp("127.0.0.2");
  const haproxyHttp = await startHaproxyBalancer("127.0.0.12", [tiny.endpoint]);
  const airstrapHttp = await startAirstrap("127.0.0.13", [tiny.endpoint]);
  const nodeFloor = await startNodeFloor("127.0.0.14", tiny.endpoint);
  const httpTargets = [{ endpoint: tiny.endpoint }, haproxyHttp, airstrapHttp];
  progress("wrk connection rate, interleaved");
  const rates = await interleaved([...httpTargets, nodeFloor], async (endpoint) => {
    const result = await runWrk(`http://${endpoint}/`, {
      connections: 50,
      seconds: SECONDS,
      headers: ["Connection: close"],
    });
    return { value: result.requestsPerSecond, units: (result.requestsPerSecond * SECONDS) / 1000 };
  });
  const [rDirect, rHaproxy, rAirstrap, rFloor] = rates.map((r) => best(r.values, "max"));
  const [, cpuConnHaproxy, cpuConnAirstrap, cpuConnFloor] = rates.map((r) => r.cpuMsPerUnit);
  rows.push([
    "short connections/s (wrk -c50, Connection: close)",
    fmt(rDirect!),
    fmt(rHaproxy!),
    fmt(rAirstrap!),
    fmt(rAirstrap! / rHaproxy!, 2),
    "≥ 0.9",
  ]);
  rows.push([
    "  proxy CPU per 1000 connections (ms)",
    "",
    fmt(cpuConnHaproxy!),
    fmt(cpuConnAirstrap!),
    fmt(cpuConnHaproxy! / cpuConnAirstrap!, 2),
    "efficiency",
  ]);
  rows.push([
    "  floor: bare Node proxy on the same handles, conn/s",
    "",
    fmt(rHaproxy!),
    fmt(rFloor!),
    fmt(rFloor! / rHaproxy!, 2),
    "runtime floor",
  ]);
  rows.push([
    "  floor: proxy CPU per 1000 connections (ms)",
    "",
    fmt(cpuConnHaproxy!),
    fmt(cpuConnFloor!),
    fmt(cpuConnHaproxy! / cpuConnFloor!, 2),
    "efficiency",
  ]);
  await nodeFloor.stop();
  progress("wrk latency, interleaved");
  const latencies = await interleaved(httpTargets, async (endpoint) => {
    const result = await runWrk(`http://${endpoint}/`, { connections: 1, seconds: SECONDS });
    return { value: result.p50Ms, extra: result.p99Ms, units: 1 };
  });
  const [latDirect, latHaproxy, latAirstrap] = latencies.map((l) => ({
    p50: best(l.values, "min"),
    p99: best(l.extras, "min"),
  })) as [{ p50: number; p99: number }, { p50: number; p99: number }, { p50: number; p99: number }];
  const us = (ms: number) => `${fmt(ms * 1000)} µs`;
  const added = (via: number, base: number) => Math.max(0, via - base);
  rows.push([
    "request/response latency p50 (wrk -c1 keep-alive)",
    us(latDirect.p50),
    `${us(latHaproxy.p50)} (+${us(added(latHaproxy.p50, latDirect.p50))})`,
    `${us(latAirstrap.p50)} (+${us(added(latAirstrap.p50, latDirect.p50))})`,
    fmt(latAirstrap.p50 / latHaproxy.p50, 2),
    "lower is better",
  ]);
  rows.push([
    "request/response latency p99",
    us(latDirect.p99),
    `${us(latHaproxy.p99)} (+${us(added(latHaproxy.p99, latDirect.p99))})`,
    `${us(latAirstrap.p99)} (+${us(added(latAirstrap.p99, latDirect.p99))})`,
    fmt(latAirstrap.p99 / latHaproxy.p99, 2),
    "lower is better",
  ]);
  await Promise.all([haproxyHttp.stop(), airstrapHttp.stop(), tiny.server.stop()]);

  progress("failover");
  // Failover: kill one of two backends under continuous short connections.
  const airstrapFailover = await failover(
    "airstrap (1 s checks, rise 2, fall 2, retry next)",
    (b) => startAirstrap("127.0.0.14", b),
    6000,
  );
  const haproxyDefault = await failover(
    "haproxy default checks (inter 2s fall 3 rise 2, retries 3)",
    (b) => startHaproxyBalancer("127.0.0.15", b),
    10_000,
  );
  const haproxyTuned = await failover(
    "haproxy tuned (inter 1s fall 2 rise 2, redispatch, shutdown-sessions)",
    (b) =>
      startHaproxyBalancer("127.0.0.16", b, "inter 1s fall 2 rise 2 on-marked-down shutdown-sessions", [
        "option redispatch 1",
        "retries 2",
      ]),
    6000,
  );

  const header = ["measure", "direct", "haproxy", "airstrap", "ratio", "target"];
  const table = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(" | ")} |`;
  console.log(
    `\nLoad balancer benchmark: ${SECONDS} s per run, best of ${ROUNDS}, 127.0.0.x loopback, ${new Date().toISOString()}\n`,
  );
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const row of rows) console.log(line(row));
  console.log("\nFailover: one of two backends SIGKILLed under 4 clients opening connections back to back");
  console.log("| balancer | failed-connection window | failed / total |");
  console.log("|---|---|---|");
  for (const r of [airstrapFailover, haproxyDefault, haproxyTuned]) {
    console.log(`| ${r.name} | ${fmt(r.windowMs)} ms | ${r.failed} / ${r.total} |`);
  }
  console.log(
    `\nratio = airstrap / haproxy (throughput, rate: higher is better; latency: lower is better); efficiency = haproxy CPU / airstrap CPU for the same work; "floor" rows: bench/lb/node-floor.ts, the plainest proxy on the same Node handles (not a product), in the airstrap column. Target failover ≤ 1000 ms: ${airstrapFailover.windowMs <= 1000 ? "met" : "NOT met"}.`,
  );
}

try {
  await main();
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
}
