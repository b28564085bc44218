/**
 * airstrap's DNS server vs dnsmasq vs unbound, same records, same machine, same run, measured by
 * dnsperf: authoritative answers and cached forwarded answers. For each: the highest QPS dnsperf
 * reaches, then average and p99 latency at half of that rate. Every peer runs in the foreground
 * on 127.0.0.x high ports and is killed at the end.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { dig } from "../../test/peers/dig.js";
import { freePort, startUnbound, stopChild, type Unbound } from "../../test/peers/unbound.js";

const run = promisify(execFile);
const SECONDS = Number(process.env.DNS_BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.DNS_BENCH_ROUNDS ?? 3);
const CLIENTS = Number(process.env.DNS_BENCH_CLIENTS ?? 4);
const HOSTS = 50;
const FORWARDED = 100;

interface Target {
  name: string;
  endpoint: string;
}

interface Measurement {
  qps: number;
  lostPercent: number;
  avgMs: number;
  p99Ms: number;
  halfRate: number;
}

const hostNames = Array.from({ length: HOSTS }, (_, i) => ({
  name: `node-${i}.edge.lan`,
  address: `10.77.${i >> 8}.${i & 0xff}`,
}));
const forwardedNames = Array.from({ length: FORWARDED }, (_, i) => ({
  name: `svc-${i}.fwd.site`,
  address: `10.88.0.${i}`,
}));

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "airstrap-dns-bench-"));
  const children: ChildProcess[] = [];
  const unbounds: Unbound[] = [];
  const cleanup = async () => {
    await Promise.all(children.map(stopChild));
    await Promise.all(unbounds.map((u) => u.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  process.on("SIGINT", () => void cleanup().then(() => process.exit(130)));
  try {
    const origin = await startUnbound({
      address: "127.0.0.121",
      zones: { "fwd.site.": forwardedNames.map((n) => `${n.name}. 3600 IN A ${n.address}`) },
    });
    unbounds.push(origin);
    const originAt = origin.endpoint.replace(":", "@");

    const airstrapPort = await freePort("127.0.0.122");
    const airstrap = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "src/cli/main.ts",
        "dns",
        "--domain",
        "edge.lan",
        "--node-name",
        "node-0",
        "--node-address",
        "10.77.0.0",
        ...hostNames.slice(1).flatMap((h) => ["--host", `${h.name.split(".")[0]}=${h.address}`]),
        "--upstream",
        origin.endpoint,
        "--allow",
        "127.0.0.0/8",
        "--listen",
        `127.0.0.122:${airstrapPort}`,
      ],
      { cwd: new URL("../../", import.meta.url).pathname, stdio: ["ignore", "ignore", "pipe"] },
    );
    children.push(airstrap);

    const dnsmasqPort = await freePort("127.0.0.123");
    const dnsmasq = spawn(
      "dnsmasq",
      [
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        `--port=${dnsmasqPort}`,
        "--listen-address=127.0.0.123",
        "--bind-interfaces",
        "--no-resolv",
        "--no-hosts",
        "--user=root",
        "--pid-file=",
        "--cache-size=10000",
        "--local-ttl=60",
        "--local=/edge.lan/",
        `--server=${origin.endpoint.replace(":", "#")}`,
        ...hostNames.map((h) => `--host-record=${h.name},${h.address}`),
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    children.push(dnsmasq);

    const unbound = await startUnbound({
      address: "127.0.0.124",
      zones: { "edge.lan.": hostNames.map((h) => `${h.name}. 60 IN A ${h.address}`) },
      forwardTo: [originAt],
    });
    unbounds.push(unbound);

    const targets: Target[] = [
      { name: "airstrap", endpoint: `127.0.0.122:${airstrapPort}` },
      { name: "dnsmasq", endpoint: `127.0.0.123:${dnsmasqPort}` },
      { name: "unbound", endpoint: unbound.endpoint },
    ];
    for (const target of targets) await waitUntilAnswering(target);

    const authFile = join(dir, "authoritative.txt");
    const forwardedFile = join(dir, "forwarded.txt");
    await writeFile(authFile, hostNames.map((h) => `${h.name} A\n`).join(""));
    await writeFile(forwardedFile, forwardedNames.map((n) => `${n.name} A\n`).join(""));

    const results: Record<string, Record<string, Measurement>> = {};
    for (const [workload, file] of [
      ["authoritative", authFile],
      ["cached forwarded", forwardedFile],
    ] as const) {
      results[workload] = {};
      // Correct answers first (and a warm cache for the forwarded names).
      for (const target of targets)
        await checkAnswers(target, workload === "authoritative" ? hostNames : forwardedNames);
      // Rounds interleave the servers, so a burst of load from elsewhere on the machine hurts them alike.
      const rounds: Record<string, number[]> = Object.fromEntries(targets.map((t) => [t.name, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const target of targets) {
          const qps = await maxQps(target, file);
          rounds[target.name]!.push(qps);
          process.stderr.write(`  ${workload}, round ${round + 1}: ${target.name} ${qps.toFixed(0)} QPS\n`);
        }
      }
      for (const target of targets) {
        const qps = median(rounds[target.name]!);
        results[workload][target.name] = { ...(await latencyAt(target, file, Math.max(1, Math.floor(qps / 2)))), qps };
      }
    }
    printTable(results);
  } finally {
    await cleanup();
  }
}

async function waitUntilAnswering(target: Target): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const out = await dig(target.endpoint, "node-1.edge.lan", "A", ["+timeout=1"]).catch(() => undefined);
    if (out?.answer[0]?.data === "10.77.0.1") return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${target.name} does not answer on ${target.endpoint}`);
}

async function checkAnswers(target: Target, names: { name: string; address: string }[]): Promise<void> {
  for (const { name, address } of names) {
    const out = await dig(target.endpoint, name, "A");
    if (out.answer.at(-1)?.data !== address) throw new Error(`${target.name} answered ${name} wrongly: ${out.text}`);
  }
}

async function dnsperf(target: Target, file: string, extra: string[]): Promise<string> {
  const [address, port] = target.endpoint.split(":");
  const { stdout } = await run(
    "dnsperf",
    [
      "-s",
      address!,
      "-p",
      port!,
      "-d",
      file,
      "-l",
      String(SECONDS),
      "-c",
      String(CLIENTS),
      "-q",
      "200",
      "-t",
      "2",
      ...extra,
    ],
    { maxBuffer: 256 * 1024 * 1024, timeout: (SECONDS + 30) * 1000 },
  );
  return stdout;
}

async function maxQps(target: Target, file: string): Promise<number> {
  const out = await dnsperf(target, file, []);
  return Number(out.match(/Queries per second:\s+([\d.]+)/)?.[1] ?? 0);
}

async function latencyAt(target: Target, file: string, rate: number): Promise<Omit<Measurement, "qps">> {
  const paced = await dnsperf(target, file, ["-Q", String(rate), "-v"]);
  const lostPercent = Number(paced.match(/Queries lost:\s+\d+ \(([\d.]+)%\)/)?.[1] ?? 100);
  const latencies = [...paced.matchAll(/^> \S+ \S+ \S+ ([\d.]+)$/gm)].map((m) => Number(m[1])).sort((a, b) => a - b);
  const avg = latencies.reduce((sum, x) => sum + x, 0) / Math.max(1, latencies.length);
  const p99 = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] ?? Number.NaN;
  return { lostPercent, avgMs: avg * 1000, p99Ms: p99 * 1000, halfRate: rate };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function printTable(results: Record<string, Record<string, Measurement>>): void {
  const lines = [
    `dnsperf, loopback, ${CLIENTS} clients; max QPS = median of ${ROUNDS} interleaved ${SECONDS}s runs; latency and loss at half of that rate`,
    "",
    "| workload | server | max QPS | QPS vs dnsmasq | QPS vs unbound | rate for latency | lost | avg ms | p99 ms |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const [workload, byServer] of Object.entries(results)) {
    for (const [server, m] of Object.entries(byServer)) {
      const ratio = (other: string) => (m.qps / (byServer[other]?.qps ?? Number.NaN)).toFixed(2);
      lines.push(
        `| ${workload} | ${server} | ${m.qps.toFixed(0)} | ${ratio("dnsmasq")}× | ${ratio("unbound")}× | ${m.halfRate} | ${m.lostPercent.toFixed(2)}% | ${m.avgMs.toFixed(3)} | ${m.p99Ms.toFixed(3)} |`,
      );
    }
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

await main();
