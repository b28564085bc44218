/**
 * airstrap's DHCP vs dnsmasq, same mode, same load generator, same run: a boot storm of 200
 * distinct MACs (100 known) DISCOVERing in one burst from a client namespace, repeated for
 * several rounds; offers per second (offers / time from the first DISCOVER to the last offer)
 * and the latency of each offer. Full mode: 100 reservations (dnsmasq: dhcp-host +
 * dhcp-ignore=tag:!known). Proxy mode: the same 100 machines known (dnsmasq: dhcp-range …,proxy,
 * pxe-service). Everything runs in namespaces this script creates and removes.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { MessageType } from "../../src/services/dhcp/wire.js";
import { runDiscover, startAirstrapDhcp } from "../../test/peers/airstrap-dhcp.js";
import type { DiscoverResult } from "../../test/peers/dhcp-discover.js";
import { startDnsmasqDhcp } from "../../test/peers/dnsmasq-dhcp.js";
import { createPxeNetwork, PXE_SUBNET, type PxeNetwork } from "../../test/peers/pxe-network.js";
import { stopChild } from "../../test/peers/unbound.js";
import { stormConfig, stormMacs } from "../../test/services/dhcp/netns-fixture.js";

const ROUNDS = Number(process.env.DHCP_BENCH_ROUNDS ?? 20);
const SERVER = `${PXE_SUBNET}.1`;
const known = stormMacs(1, 100);
const unknown = stormMacs(2, 100);
const macs = known.flatMap((mac, i) => [mac, unknown[i]!]);

interface Measurement {
  /** Burst rounds: median offers per second. */
  offersPerSecond: number;
  /** Paced rounds (the storm spread over one second): latency of each offer. */
  pacedP50Ms: number;
  pacedP99Ms: number;
  /** Server CPU time (user + system) per DISCOVER received during the burst rounds: robust to a busy machine. */
  cpuMicros: number;
  offered: number;
  expected: number;
  unknownOffered: number;
  p50Ms: number;
  p99Ms: number;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "airstrap-dhcp-bench-"));
  const network = await createPxeNetwork("dhb", { srv: { address: `${SERVER}/24` }, cli: { defaultRoute: true } });
  const children: ChildProcess[] = [];
  const cleanup = async () => {
    await Promise.all(children.map(stopChild));
    await network.remove();
    await rm(dir, { recursive: true, force: true });
  };
  process.on("SIGINT", () => void cleanup().then(() => process.exit(130)));
  const results: Record<string, Record<string, Measurement>> = {};
  try {
    for (const mode of ["full", "proxy"] as const) {
      results[mode] = {};
      // Interleaved: each server gets its rounds in two halves, so drift on the machine hits both.
      const half = Math.ceil(ROUNDS / 2);
      const rounds: Record<string, DiscoverResult[]> = { airstrap: [], dnsmasq: [] };
      const paced: Record<string, DiscoverResult[]> = { airstrap: [], dnsmasq: [] };
      const cpu: Record<string, number> = { airstrap: 0, dnsmasq: 0 };
      for (let pass = 0; pass < 2; pass++) {
        for (const server of ["airstrap", "dnsmasq"]) {
          const child =
            server === "airstrap" ? await startAirstrap(network, dir, mode) : await startDnsmasq(network, mode);
          children.push(child);
          const before = await cpuSeconds(child.pid!);
          rounds[server]!.push(...(await storm(network, half)));
          cpu[server]! += (await cpuSeconds(child.pid!)) - before;
          paced[server]!.push(...(await storm(network, half, 1000)));
          await stopChild(child);
          children.splice(children.indexOf(child), 1);
        }
      }
      for (const [server, list] of Object.entries(rounds))
        results[mode][server] = {
          ...measure(list, paced[server]!),
          // Each storm() call also sends one warm-up burst.
          cpuMicros: (cpu[server]! * 1e6) / ((list.length + 2) * macs.length),
        };
    }
  } finally {
    await cleanup();
  }
  printTable(results);
}

async function startAirstrap(network: PxeNetwork, dir: string, mode: "full" | "proxy"): Promise<ChildProcess> {
  const base = stormConfig(known);
  const config = mode === "full" ? base : { ...base, mode, reservations: [], knownMacs: known };
  // Its event lines (one per offer, as dnsmasq logs one per packet) are collected and dropped.
  return (await startAirstrapDhcp(network, "srv", config, dir)).child;
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

async function storm(network: PxeNetwork, rounds: number, spreadMs?: number): Promise<DiscoverResult[]> {
  const plan = { macs, vendor: "PXEClient:Arch:00000:UNDI:002001", arch: 0, waitMs: 1000, expect: 100, spreadMs };
  // One warm-up burst, not counted.
  return (await runDiscover(network, "cli", plan, rounds + 1, 300)).slice(1);
}

/** utime + stime of one process, from /proc (clock ticks are 100 Hz on Linux). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function measure(rounds: DiscoverResult[], paced: DiscoverResult[]): Omit<Measurement, "cpuMicros"> {
  const offersOf = (list: DiscoverResult[]) =>
    list.flatMap((r) => r.replies.filter((reply) => reply.type === MessageType.OFFER));
  const percentile = (list: DiscoverResult[], p: number) => {
    const latencies = offersOf(list)
      .map((o) => o.latencyMs)
      .sort((a, b) => a - b);
    return latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? Number.NaN;
  };
  const offers = offersOf(rounds);
  const knownSet = new Set(known);
  const rates = rounds.map((r) => r.replies.length / (r.elapsedMs / 1000)).sort((a, b) => a - b);
  return {
    offersPerSecond: rates[Math.floor(rates.length / 2)]!,
    pacedP50Ms: percentile(paced, 0.5),
    pacedP99Ms: percentile(paced, 0.99),
    offered: offers.filter((o) => knownSet.has(o.mac)).length,
    expected: rounds.length * known.length,
    unknownOffered: [...offers, ...offersOf(paced)].filter((o) => !knownSet.has(o.mac)).length,
    p50Ms: percentile(rounds, 0.5),
    p99Ms: percentile(rounds, 0.99),
  };
}

function printTable(results: Record<string, Record<string, Measurement>>): void {
  const lines = [
    `boot storm: 200 MACs (100 known) DISCOVER in one burst, ${ROUNDS} rounds per server (interleaved halves), veth + bridge between two namespaces, ${availableParallelism()} CPUs`,
    "burst: all 200 at once; offers/s = offers of a round / (last offer − first DISCOVER), median of the rounds; latency = DISCOVER → its offer (queueing behind the burst included)",
    "paced: the same 200 spread evenly over one second; latency of every offer. CPU = server CPU time per DISCOVER received in the burst rounds",
    "",
    "| mode | server | burst offers/s | vs dnsmasq | known offered (burst) | unknown offered | burst p50 ms | burst p99 ms | paced p50 ms | paced p99 ms | CPU µs/DISCOVER | CPU vs dnsmasq |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const [mode, byServer] of Object.entries(results)) {
    for (const [server, m] of Object.entries(byServer)) {
      const ratio = (m.offersPerSecond / (byServer.dnsmasq?.offersPerSecond ?? Number.NaN)).toFixed(2);
      lines.push(
        `| ${mode} | ${server} | ${m.offersPerSecond.toFixed(0)} | ${ratio}× | ${m.offered}/${m.expected} | ${m.unknownOffered} | ${m.p50Ms.toFixed(2)} | ${m.p99Ms.toFixed(2)} | ${m.pacedP50Ms.toFixed(2)} | ${m.pacedP99Ms.toFixed(2)} | ${m.cpuMicros.toFixed(0)} | ${(m.cpuMicros / (byServer.dnsmasq?.cpuMicros ?? Number.NaN)).toFixed(2)}× |`,
      );
    }
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

await main();
