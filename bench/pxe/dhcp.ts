/**
 * airstrap's DHCP vs dnsmasq and the Node floor, same mode, same load generator, same run: the boot storm of issue 14
 * (200 distinct MACs, 100 known, DISCOVERing within one second) against each server in its own
 * pair of network namespaces (a server and a client on a bridge), all servers running the whole
 * time; beside them the floor (dhcp-floor.ts: bare dgram, precomputed OFFERs, the least a Node
 * program can do). Each round storms every server in turn, the order rotating round by round: bursts
 * (all 200 at once, the harshest form) and one paced storm (200 spread evenly over one second, the
 * storm as the issue words it). Full mode: 100 reservations (dnsmasq: dhcp-host +
 * dhcp-ignore=tag:!known). Proxy mode: the same 100 machines known (dnsmasq: dhcp-range …,proxy,
 * pxe-service). Everything runs in namespaces this script creates and removes.
 *
 * Measured at the server's interface (tcpdump's kernel timestamps): latency = DISCOVER in → offer
 * out, the server's own; burst offers/s = offers / (last offer out − first DISCOVER in). Measured
 * at the client: which MACs got an offer. CPU: the server's on-CPU time (every thread, from
 * /proc/PID/task/* /schedstat, in ns) per DISCOVER of the bursts, after a warm-up of WARMUP
 * storms (V8 compiles airstrap's hot path in the first few thousand requests; that is start-up,
 * not the steady cost).
 */
import { type ChildProcess, execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { answer } from "../../src/services/dhcp/answer.js";
import { compileAnswerTable } from "../../src/services/dhcp/answer-table.js";
import type { DhcpConfig } from "../../src/services/dhcp/config.js";
import { decodeMessage, MessageType } from "../../src/services/dhcp/wire.js";
import { REPO } from "../../test/helpers/cli.js";
import { runDiscover } from "../../test/peers/airstrap-dhcp.js";
import { type DiscoverResult, discoverDatagram } from "../../test/peers/dhcp-discover.js";
import { startDnsmasqDhcp } from "../../test/peers/dnsmasq-dhcp.js";
import { createPxeNetwork, PXE_SUBNET, type PxeNetwork, waitForOutput } from "../../test/peers/pxe-network.js";
import { stopChild } from "../../test/peers/unbound.js";
import { stormConfig, stormMacs } from "../../test/services/dhcp/netns-fixture.js";
import { type CapturedPacket, startCapture } from "./dhcp-capture.js";
import type { FloorOffers } from "./dhcp-floor.js";
import { addSummaryRow, loadNow } from "./summary.js";

const run = promisify(execFile);
const TSX = import.meta.resolve("tsx");
const ZERO = "0.0.0.0";
const ROUNDS = Number(process.env.DHCP_BENCH_ROUNDS ?? 8);
const BURSTS = Number(process.env.DHCP_BENCH_BURSTS ?? 4);
const WARMUP = Number(process.env.DHCP_BENCH_WARMUP ?? 30);
const SERVER = `${PXE_SUBNET}.1`;
const SERVERS = ["airstrap", "dnsmasq", "floor"] as const;
type ServerName = (typeof SERVERS)[number];
const known = stormMacs(1, 100);
const unknown = stormMacs(2, 100);
const knownSet = new Set(known);
const macs = known.flatMap((mac, i) => [mac, unknown[i]!]);
const plan = { macs, vendor: "PXEClient:Arch:00000:UNDI:002001", arch: 0, waitMs: 1000, expect: 100 };

interface Collected {
  bursts: DiscoverResult[];
  paced: DiscoverResult[];
  cpuNs: number;
  discovers: number;
}

interface Measurement {
  /** Per round: median over its bursts of offers/s at the server interface. */
  rates: number[];
  offered: number;
  expected: number;
  unknownOffered: number;
  burstP50: number;
  burstP99: number;
  pacedP50: number;
  pacedP99: number;
  clientBurstP99: number;
  clientPacedP99: number;
  cpuMicros: number;
  dropped: number;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "airstrap-dhcp-bench-"));
  const networks = {
    airstrap: await createPxeNetwork("dba", { srv: { address: `${SERVER}/24` }, cli: { defaultRoute: true } }),
    dnsmasq: await createPxeNetwork("dbd", { srv: { address: `${SERVER}/24` }, cli: { defaultRoute: true } }),
    floor: await createPxeNetwork("dbf", { srv: { address: `${SERVER}/24` }, cli: { defaultRoute: true } }),
  };
  const children: ChildProcess[] = [];
  const cleanup = async () => {
    await Promise.all(children.map(stopChild));
    for (const network of Object.values(networks)) await network.remove();
    await rm(dir, { recursive: true, force: true });
  };
  process.on("SIGINT", () => void cleanup().then(() => process.exit(130)));
  const loadBefore = loadavg();
  const results: Record<string, Record<ServerName, Measurement>> = {};
  try {
    for (const mode of ["full", "proxy"] as const) {
      const servers = {
        airstrap: await startAirstrap(networks.airstrap, dir, mode),
        dnsmasq: await startDnsmasq(networks.dnsmasq, mode),
        floor: await startFloor(networks.floor, dir, mode),
      };
      children.push(...Object.values(servers));
      for (const server of SERVERS) await runDiscover(networks[server], "cli", plan, WARMUP, 100);
      const captures = {} as Record<ServerName, Awaited<ReturnType<typeof startCapture>>>;
      const collected = {} as Record<ServerName, Collected>;
      const rounds = {} as Record<ServerName, DiscoverResult[][]>;
      for (const server of SERVERS) {
        captures[server] = await startCapture(networks[server], "srv", join(dir, `${server}-${mode}.pcap`));
        collected[server] = { bursts: [], paced: [], cpuNs: 0, discovers: 0 };
        rounds[server] = [];
      }
      for (let round = 0; round < ROUNDS; round++) {
        // Each server goes first as often as the others: the order rotates every round.
        const order = SERVERS.map((_, i) => SERVERS[(i + round) % SERVERS.length]!);
        for (const server of order) {
          const pid = servers[server].pid!;
          const before = await cpuNanoseconds(pid);
          // The client's first burst is its own warm-up (a cold Node client sends slower): not counted.
          const bursts = (await runDiscover(networks[server], "cli", plan, BURSTS + 1, 300)).slice(1);
          collected[server].cpuNs += (await cpuNanoseconds(pid)) - before;
          collected[server].discovers += (BURSTS + 1) * macs.length;
          collected[server].bursts.push(...bursts);
          rounds[server].push(bursts);
          collected[server].paced.push(await runDiscover(networks[server], "cli", { ...plan, spreadMs: 1000 }));
        }
      }
      const byServer = {} as Record<ServerName, Measurement>;
      for (const server of SERVERS) {
        const { packets, dropped } = await captures[server].stop();
        byServer[server] = measure(collected[server], rounds[server], packets, dropped);
      }
      results[mode] = byServer;
      for (const child of Object.values(servers)) {
        await stopChild(child);
        children.splice(children.indexOf(child), 1);
      }
    }
  } finally {
    await cleanup();
  }
  printTable(results, loadBefore, loadavg());
  summarize(results);
}

/** The headline rows for run.sh's summary: offers/s, p99 and CPU per DISCOVER, per mode. */
function summarize(results: Record<string, Record<ServerName, Measurement>>): void {
  const load = loadNow();
  for (const [mode, m] of Object.entries(results)) {
    const each = (pick: (x: Measurement) => number) =>
      Object.fromEntries(SERVERS.map((server) => [server, pick(m[server])]));
    const rateRatios = m.airstrap.rates.map((rate, i) => rate / m.dnsmasq.rates[i]!);
    addSummaryRow({
      bench: `DHCP ${mode}`,
      measure: "burst offers/s (median of rounds)",
      values: each((x) => median(x.rates)),
      ratio: `${median(rateRatios).toFixed(2)}× (floor ${ratioOfRounds(m.floor.rates, m.dnsmasq.rates).split(" ")[0]}, airstrap/floor ${ratioOfRounds(m.airstrap.rates, m.floor.rates).split(" ")[0]})`,
      target: "≥ 1.0×",
      met: median(rateRatios) >= 1,
      load,
    });
    for (const [measure, pick] of [
      ["paced storm p99 ms (at the server)", (x: Measurement) => x.pacedP99],
      ["burst p99 ms (at the server)", (x: Measurement) => x.burstP99],
    ] as const)
      addSummaryRow({
        bench: `DHCP ${mode}`,
        measure,
        values: each(pick),
        ratio: `${(pick(m.airstrap) / pick(m.dnsmasq)).toFixed(2)}×`,
        target: "< 10 ms",
        met: pick(m.airstrap) < 10,
        load,
      });
    addSummaryRow({
      bench: `DHCP ${mode}`,
      measure: "CPU µs per DISCOVER",
      values: each((x) => x.cpuMicros),
      ratio: `${(m.airstrap.cpuMicros / m.dnsmasq.cpuMicros).toFixed(2)}× (airstrap/floor ${(m.airstrap.cpuMicros / m.floor.cpuMicros).toFixed(2)}×)`,
      load,
    });
  }
}

function airstrapConfig(mode: "full" | "proxy"): DhcpConfig {
  const base = stormConfig(known);
  return mode === "full" ? base : { ...base, mode, reservations: [], knownMacs: known };
}

/** airstrap as its esbuild bundle, as it ships (and no transpiling at start on a loaded machine). */
async function startAirstrap(network: PxeNetwork, dir: string, mode: "full" | "proxy"): Promise<ChildProcess> {
  const config = airstrapConfig(mode);
  const bundle = join(dir, "airstrap.cjs");
  if (!existsSync(bundle))
    await run(process.execPath, [join(REPO, "scripts/build.mjs"), "--entry", "src/cli/main.ts", "--outfile", bundle], {
      cwd: REPO,
    });
  const file = join(dir, `dhcp-${mode}.json`);
  await writeFile(file, JSON.stringify(config));
  const child = network.spawn("srv", [process.execPath, bundle, "dhcp", "serve", "--config", file], {
    ...process.env,
    NO_COLOR: "1",
  });
  // Its event lines (one per offer, as dnsmasq logs one per packet) are read and dropped.
  child.stdout?.resume();
  await waitForOutput(child, /DHCP listening/, 120_000);
  child.stderr?.resume();
  return child;
}

/** The floor (dhcp-floor.ts): each known MAC's OFFER encoded beforehand by airstrap's answer code. */
async function startFloor(network: PxeNetwork, dir: string, mode: "full" | "proxy"): Promise<ChildProcess> {
  const table = compileAnswerTable(airstrapConfig(mode));
  const offers: Record<string, string> = {};
  for (const mac of known) {
    const decision = answer(table, decodeMessage(discoverDatagram(plan, mac, 0)), "dhcp", { address: ZERO, port: 68 });
    if (decision.kind !== "reply") throw new Error(`airstrap does not answer ${mac} (${mode}): ${decision.kind}`);
    offers[mac.replaceAll(":", "")] = decision.reply.toString("hex");
  }
  const setup: FloorOffers = { serverAddress: SERVER, serverPort: 67, clientPort: 68, offers };
  const file = join(dir, `floor-${mode}.json`);
  await writeFile(file, JSON.stringify(setup));
  const floor = join(REPO, "bench/pxe/dhcp-floor.ts");
  const child = network.spawn("srv", [process.execPath, "--import", TSX, floor, file], process.env);
  child.stdout?.resume();
  await waitForOutput(child, /DHCP floor listening/, 120_000);
  child.stderr?.resume();
  return child;
}

async function startDnsmasq(network: PxeNetwork, mode: "full" | "proxy"): Promise<ChildProcess> {
  const reservations = stormConfig(known).reservations;
  const hosts = reservations.map((r) => `dhcp-host=${r.mac},${r.hostname},${r.address}`);
  const options =
    mode === "full"
      ? [
          `dhcp-range=${PXE_SUBNET}.0,static,255.255.255.0,10m`,
          `dhcp-option=3,${SERVER}`,
          `dhcp-option=6,${SERVER}`,
          `dhcp-boot=undionly.kpxe,,${SERVER}`,
        ]
      : [`dhcp-range=${PXE_SUBNET}.0,proxy,255.255.255.0`, `pxe-service=x86PC,"boot",undionly`];
  const child = await startDnsmasqDhcp(network, "srv", [...options, ...hosts, "dhcp-ignore=tag:!known", "no-ping"]);
  child.stderr?.resume();
  child.stdout?.resume();
  return child;
}

/** On-CPU time of every thread of a process, in ns (schedstat's first field). */
async function cpuNanoseconds(pid: number): Promise<number> {
  let total = 0;
  for (const task of await readdir(`/proc/${pid}/task`)) {
    const stat = await readFile(`/proc/${pid}/task/${task}/schedstat`, "utf8").catch(() => "0");
    total += Number(stat.split(" ")[0]);
  }
  return total;
}

function measure(
  collected: Collected,
  rounds: DiscoverResult[][],
  packets: CapturedPacket[],
  dropped: number,
): Measurement {
  const arrived = new Map<number, number>();
  const offeredAt = new Map<number, number>();
  for (const packet of packets) {
    if (packet.op === 1 && packet.type === MessageType.DISCOVER && !arrived.has(packet.xid))
      arrived.set(packet.xid, packet.at);
    if (packet.op === 2 && packet.type === MessageType.OFFER && !offeredAt.has(packet.xid))
      offeredAt.set(packet.xid, packet.at);
  }
  const offers = (list: DiscoverResult[]) => list.flatMap((r) => r.replies.filter((o) => o.type === MessageType.OFFER));
  /** Server latencies (ms) of the offers the client received. */
  const serverLatencies = (list: DiscoverResult[]) =>
    offers(list).flatMap((o) => {
      const from = arrived.get(o.xid);
      const to = offeredAt.get(o.xid);
      return from === undefined || to === undefined ? [] : [(to - from) / 1000];
    });
  /** Offers/s of one burst at the server: its offers / (last offer out − first DISCOVER in). */
  const burstRate = (burst: DiscoverResult) => {
    const outs = burst.replies.map((r) => offeredAt.get(r.xid)).filter((t) => t !== undefined);
    const ins = burst.replies.length === 0 ? [] : macs.map((_, i) => arrived.get((burst.xidBase + i) >>> 0));
    const first = Math.min(...ins.filter((t) => t !== undefined));
    return outs.length / ((Math.max(...outs) - first) / 1e6);
  };
  const burstOffers = offers(collected.bursts);
  return {
    rates: rounds.map((bursts) => median(bursts.map(burstRate))),
    offered: burstOffers.filter((o) => knownSet.has(o.mac)).length,
    expected: collected.bursts.length * known.length,
    unknownOffered: [...burstOffers, ...offers(collected.paced)].filter((o) => !knownSet.has(o.mac)).length,
    burstP50: percentile(serverLatencies(collected.bursts), 0.5),
    burstP99: percentile(serverLatencies(collected.bursts), 0.99),
    pacedP50: percentile(serverLatencies(collected.paced), 0.5),
    pacedP99: percentile(serverLatencies(collected.paced), 0.99),
    clientBurstP99: percentile(
      offers(collected.bursts).map((o) => o.latencyMs),
      0.99,
    ),
    clientPacedP99: percentile(
      offers(collected.paced).map((o) => o.latencyMs),
      0.99,
    ),
    cpuMicros: collected.cpuNs / 1000 / collected.discovers,
    dropped,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

/** Per round, a / b of offers/s: "median× [min–max]". */
function ratioOfRounds(a: number[], b: number[]): string {
  const ratios = a.map((rate, i) => rate / b[i]!);
  return `${median(ratios).toFixed(2)}× [${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}]`;
}

function printTable(
  results: Record<string, Record<ServerName, Measurement>>,
  loadBefore: number[],
  loadAfter: number[],
): void {
  const load = (l: number[]) => l.map((v) => v.toFixed(1)).join(" ");
  const lines = [
    `DHCP boot storm: 200 MACs (100 known); ${ROUNDS} rotating rounds per mode, each: ${BURSTS} bursts + 1 paced storm per server; warm-up ${WARMUP} storms; ${availableParallelism()} CPUs; load average ${load(loadBefore)} → ${load(loadAfter)}`,
    "floor = bench/pxe/dhcp-floor.ts: a bare Node dgram server on airstrap's sockets sending precomputed OFFERs (the least Node can do)",
    "latency and burst offers/s at the server interface (kernel timestamps, DISCOVER in → offer out); client p99 = at the client, its own event loop included",
    "vs dnsmasq / vs floor = ratio of offers/s per round: median [min–max]; CPU = server on-CPU time per DISCOVER in the bursts (all threads)",
    "",
    "| mode | server | burst offers/s (median of rounds) | vs dnsmasq per round | vs floor per round | known offered (bursts) | unknown offered | burst p50 / p99 ms | paced p50 / p99 ms | client p99 burst / paced ms | CPU µs/DISCOVER | CPU vs dnsmasq | capture drops |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const [mode, byServer] of Object.entries(results)) {
    for (const server of SERVERS) {
      const m = byServer[server];
      const vsDnsmasq = server === "dnsmasq" ? "1.00×" : ratioOfRounds(m.rates, byServer.dnsmasq.rates);
      const vsFloor = server === "floor" ? "1.00×" : ratioOfRounds(m.rates, byServer.floor.rates);
      const cpuRatio = (m.cpuMicros / byServer.dnsmasq.cpuMicros).toFixed(2);
      lines.push(
        `| ${mode} | ${server} | ${median(m.rates).toFixed(0)} | ${vsDnsmasq} | ${vsFloor} | ${m.offered}/${m.expected} | ${m.unknownOffered} | ${m.burstP50.toFixed(2)} / ${m.burstP99.toFixed(2)} | ${m.pacedP50.toFixed(2)} / ${m.pacedP99.toFixed(2)} | ${m.clientBurstP99.toFixed(2)} / ${m.clientPacedP99.toFixed(2)} | ${m.cpuMicros.toFixed(1)} | ${cpuRatio}× | ${m.dropped} |`,
      );
    }
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

await main();
