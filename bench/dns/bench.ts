/**
 * airstrap's DNS server vs dnsmasq vs unbound, same records, same machine, same run, measured by
 * dnsperf: authoritative answers and cached forwarded answers. For each: the highest QPS dnsperf
 * reaches, then average and p99 latency at half of that rate. Every peer runs in the foreground
 * on 127.0.0.x high ports and is killed at the end.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { defaultDnsWorkers } from "../../src/services/dns/config.js";
import { dig } from "../../test/peers/dig.js";
import { freePort, startUnbound, stopChild, type Unbound } from "../../test/peers/unbound.js";

const run = promisify(execFile);
const SECONDS = Number(process.env.DNS_BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.DNS_BENCH_ROUNDS ?? 5);
const CLIENTS = Number(process.env.DNS_BENCH_CLIENTS ?? 4);
/** Processes of the multi-process airstrap (its default on this machine unless set). */
const WORKERS = Number(process.env.DNS_BENCH_WORKERS ?? defaultDnsWorkers());
const HOSTS = 50;
const FLOOR = `bare Node ${process.versions.node.split(".")[0]} responder`;
const FORWARDED = 100;

interface Target {
  name: string;
  endpoint: string;
  pid: number;
}

interface Measurement {
  qps: number;
  bestQps: number;
  /** CPU time the server spent per answered query (user + system), in microseconds: robust to a busy machine. */
  cpuMicros: number;
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

    const startAirstrap = async (address: string, workers: number) => {
      const port = await freePort(address);
      const child = spawn(
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
          `${address}:${port}`,
          "--workers",
          String(workers),
        ],
        { cwd: new URL("../../", import.meta.url).pathname, stdio: ["ignore", "ignore", "pipe"] },
      );
      children.push(child);
      const plural = workers === 1 ? "process" : "processes";
      return { name: `airstrap (${workers} ${plural})`, endpoint: `${address}:${port}`, pid: child.pid! };
    };
    const airstraps = [await startAirstrap("127.0.0.122", 1)];
    if (WORKERS > 1) airstraps.push(await startAirstrap("127.0.0.125", WORKERS));

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

    // The floor: what the plainest possible DNS responder on this Node costs (see node-floor.ts).
    const floorRecords = join(dir, "floor-records.json");
    await writeFile(floorRecords, JSON.stringify([...hostNames, ...forwardedNames].map((r) => [r.name, r.address])));
    const floorPort = await freePort("127.0.0.126");
    const floor = spawn(
      process.execPath,
      ["--import", "tsx", "bench/dns/node-floor.ts", "127.0.0.126", String(floorPort), floorRecords],
      { cwd: new URL("../../", import.meta.url).pathname, stdio: ["ignore", "ignore", "pipe"] },
    );
    children.push(floor);

    const targets: Target[] = [
      ...airstraps,
      { name: `${FLOOR} (1 process)`, endpoint: `127.0.0.126:${floorPort}`, pid: floor.pid! },
      { name: "dnsmasq", endpoint: `127.0.0.123:${dnsmasqPort}`, pid: dnsmasq.pid! },
      { name: "unbound", endpoint: unbound.endpoint, pid: unbound.pid },
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
      const rounds: Record<string, { qps: number; cpuMicros: number }[]> = Object.fromEntries(
        targets.map((t) => [t.name, []]),
      );
      for (let round = 0; round < ROUNDS; round++) {
        for (const target of targets) {
          const cpuBefore = await cpuSeconds(target.pid);
          const { qps, answered } = await maxQps(target, file);
          const cpuMicros = (((await cpuSeconds(target.pid)) - cpuBefore) * 1e6) / Math.max(1, answered);
          rounds[target.name]!.push({ qps, cpuMicros });
          process.stderr.write(
            `  ${workload}, round ${round + 1}: ${target.name} ${qps.toFixed(0)} QPS, ${cpuMicros.toFixed(1)} µs CPU/query\n`,
          );
        }
      }
      for (const target of targets) {
        const runs = rounds[target.name]!;
        const qps = median(runs.map((r) => r.qps));
        results[workload][target.name] = {
          ...(await latencyAt(target, file, Math.max(1, Math.floor(qps / 2)))),
          qps,
          bestQps: Math.max(...runs.map((r) => r.qps)),
          cpuMicros: median(runs.map((r) => r.cpuMicros)),
        };
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

async function maxQps(target: Target, file: string): Promise<{ qps: number; answered: number }> {
  const out = await dnsperf(target, file, []);
  return {
    qps: Number(out.match(/Queries per second:\s+([\d.]+)/)?.[1] ?? 0),
    answered: Number(out.match(/Queries completed:\s+(\d+)/)?.[1] ?? 0),
  };
}

/** utime + stime of a process and its children (airstrap's workers), from /proc (clock ticks are 100 Hz on Linux). */
async function cpuSeconds(pid: number): Promise<number> {
  let total = 0;
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(entry) === pid || Number(fields[1]) === pid) total += Number(fields[11]) + Number(fields[12]);
  }
  return total / 100;
}

async function latencyAt(
  target: Target,
  file: string,
  rate: number,
): Promise<Omit<Measurement, "qps" | "bestQps" | "cpuMicros">> {
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
    `dnsperf, loopback, ${CLIENTS} clients, ${availableParallelism()} CPUs; dnsmasq and unbound one thread each, airstrap with 1 and with ${WORKERS} processes; ${ROUNDS} interleaved ${SECONDS}s runs per server:`,
    "max QPS = their median (best in brackets); CPU = server CPU time per answered query (all its processes), median; latency and loss at half the median max QPS",
    `${FLOOR}: the floor for any server on this Node — precomputed answers, no checks (bench/dns/node-floor.ts); not a product, shown for what Node's dgram itself costs`,
    "",
    "| workload | server | max QPS (best) | QPS vs dnsmasq | QPS vs unbound | CPU µs/query | CPU vs dnsmasq | rate for latency | lost | avg ms | p99 ms |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const [workload, byServer] of Object.entries(results)) {
    for (const [server, m] of Object.entries(byServer)) {
      const ratio = (other: string) => (m.qps / (byServer[other]?.qps ?? Number.NaN)).toFixed(2);
      const cpuRatio = (m.cpuMicros / (byServer.dnsmasq?.cpuMicros ?? Number.NaN)).toFixed(2);
      lines.push(
        `| ${workload} | ${server} | ${m.qps.toFixed(0)} (${m.bestQps.toFixed(0)}) | ${ratio("dnsmasq")}× | ${ratio("unbound")}× | ${m.cpuMicros.toFixed(1)} | ${cpuRatio}× | ${m.halfRate} | ${m.lostPercent.toFixed(2)}% | ${m.avgMs.toFixed(3)} | ${m.p99Ms.toFixed(3)} |`,
      );
    }
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

await main();
