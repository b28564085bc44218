/**
 * airstrap's registry vs Debian's docker-registry (Distribution 2.8): skopeo pushes a generated
 * multi-layer image of at least 1 GB to each and pulls it back, then curl fetches every layer at
 * once (the servers' own speed, without skopeo's hashing and writing). Same machine, same run,
 * fresh stores every round, the two servers taking each step back to back in alternating order,
 * plain HTTP on 127.0.0.1 for both. Prints every round and its ratios, then medians (best in
 * brackets), ratios, CPU seconds and peak RSS (VmHWM).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { skopeoCopy } from "../../test/peers/skopeo.js";
import { writeOciLayout } from "../../test/services/registry/oci-image.js";
import { curlPull, measured, median, peakRssMB } from "./measure.js";
import { buildRegistryExecutable, cleanupScope, type ServerName, startServer } from "./servers.js";

const LAYERS = Number(process.env.REGISTRY_BENCH_LAYERS ?? 8);
const LAYER_MIB = Number(process.env.REGISTRY_BENCH_LAYER_MIB ?? 128);
const ROUNDS = Number(process.env.REGISTRY_BENCH_ROUNDS ?? 3);

interface Round {
  pushMBs: number;
  pullMBs: number;
  curlMBs: number;
  /** Server CPU seconds for the skopeo push and pull (user + system): load-independent. */
  cpuSeconds: number;
  /** Server CPU seconds per GB of the curl pull. */
  curlCpuPerGB: number;
  peakRssMB: number;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "airstrap-registry-bench-"));
  const { scope, cleanup } = cleanupScope();
  try {
    const executable = await buildRegistryExecutable(dir);
    process.stderr.write(`generating a ${LAYERS} × ${LAYER_MIB} MiB image...\n`);
    const image = await writeOciLayout(join(dir, "image"), { layers: LAYERS, layerBytes: LAYER_MIB * 1024 * 1024 });
    // The layers' bytes (config and manifest are a few hundred bytes more).
    const megabytes = image.totalBytes / 1e6;
    console.log(`image: ${LAYERS} layers, ${megabytes.toFixed(0)} MB; ${ROUNDS} round(s); skopeo --preserve-digests`);
    const results: Record<ServerName, Round[]> = { airstrap: [], distribution: [] };
    for (let round = 0; round < ROUNDS; round++) {
      // Both servers run for the whole round and take each step back to back, so a burst of
      // other work on the machine falls on both sides of a pair rather than on one server.
      const order: ServerName[] = round % 2 === 0 ? ["distribution", "airstrap"] : ["airstrap", "distribution"];
      const servers = {} as Record<ServerName, { host: string; pid: number; root: string }>;
      for (const name of order) {
        const root = join(dir, `${name}-${round}`);
        servers[name] = { ...(await startServer(name, { executable, root }, scope)), root };
      }
      const ref = (name: ServerName) => `docker://${servers[name].host}/bench/image:v1`;
      const out = (name: ServerName) => join(dir, `pulled-${name}-${round}`);
      const each = async (step: (name: ServerName) => Promise<unknown>) => {
        const times = {} as Record<ServerName, { seconds: number; cpu: number }>;
        for (const name of order) times[name] = await measured(servers[name].pid, () => step(name));
        return times;
      };
      const push = await each((name) => skopeoCopy(`oci:${image.dir}:v1`, ref(name), ["--preserve-digests"]));
      const pull = await each((name) => skopeoCopy(ref(name), `oci:${out(name)}:v1`, ["--preserve-digests"]));
      for (const name of order) await rm(out(name), { recursive: true, force: true });
      const curl = await each((name) => curlPull(servers[name].host, "bench/image", image.layerDigests));
      for (const name of order) {
        const result: Round = {
          pushMBs: megabytes / push[name].seconds,
          pullMBs: megabytes / pull[name].seconds,
          curlMBs: megabytes / curl[name].seconds,
          cpuSeconds: push[name].cpu + pull[name].cpu,
          curlCpuPerGB: curl[name].cpu / (megabytes / 1000),
          peakRssMB: await peakRssMB(servers[name].pid),
        };
        results[name].push(result);
        console.log(
          `round ${round + 1} ${name.padEnd(12)}: push ${result.pushMBs.toFixed(0)} MB/s, pull ${result.pullMBs.toFixed(0)} MB/s, curl pull ${result.curlMBs.toFixed(0)} MB/s, server CPU ${result.cpuSeconds.toFixed(2)} s (+${curl[name].cpu.toFixed(2)} s curl), peak RSS ${result.peakRssMB.toFixed(0)} MB`,
        );
      }
      const [a, d] = [results.airstrap[round]!, results.distribution[round]!];
      console.log(
        `round ${round + 1} ratio       : push ${(a.pushMBs / d.pushMBs).toFixed(2)}×, pull ${(a.pullMBs / d.pullMBs).toFixed(2)}×, curl pull ${(a.curlMBs / d.curlMBs).toFixed(2)}×`,
      );
      await cleanup();
      for (const name of order) await rm(servers[name].root, { recursive: true, force: true });
    }
    printTable(results);
  } finally {
    await cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

function printTable(results: Record<ServerName, Round[]>): void {
  const of = (name: ServerName, key: keyof Round) => results[name].map((r) => r[key]);
  const best = (name: ServerName, key: keyof Round) => Math.max(...of(name, key));
  const mid = (name: ServerName, key: keyof Round) => median(of(name, key));
  const rate = (name: ServerName, key: keyof Round) => `${mid(name, key).toFixed(0)} (${best(name, key).toFixed(0)})`;
  const ratio = (key: keyof Round) =>
    `${(mid("airstrap", key) / mid("distribution", key)).toFixed(2)}× (${(best("airstrap", key) / best("distribution", key)).toFixed(2)}×)`;
  const plainRatio = (value: (name: ServerName) => number) =>
    `${(value("airstrap") / value("distribution")).toFixed(2)}×`;
  const peak = (name: ServerName) => Math.max(...of(name, "peakRssMB"));
  const header = ["", "push MB/s", "pull MB/s", "curl pull MB/s", "CPU s push+pull", "CPU s/GB curl", "peak RSS MB"];
  const row = (name: ServerName) => [
    name === "airstrap" ? "airstrap" : "distribution 2.8",
    rate(name, "pushMBs"),
    rate(name, "pullMBs"),
    rate(name, "curlMBs"),
    mid(name, "cpuSeconds").toFixed(2),
    mid(name, "curlCpuPerGB").toFixed(2),
    peak(name).toFixed(0),
  ];
  const rows = [
    header,
    row("airstrap"),
    row("distribution"),
    [
      "ratio airstrap/distribution",
      ratio("pushMBs"),
      ratio("pullMBs"),
      ratio("curlMBs"),
      plainRatio((name) => mid(name, "cpuSeconds")),
      plainRatio((name) => mid(name, "curlCpuPerGB")),
      plainRatio(peak),
    ],
  ];
  console.log("\nmedian of the rounds (best in brackets); CPU: median; RSS: highest");
  console.log("targets: push and pull ratio >= 1.00, airstrap peak RSS < 150 MB\n");
  for (const cells of rows) {
    console.log(`| ${cells.map((c, i) => (i === 0 ? c.padEnd(27) : c.padStart(15))).join(" | ")} |`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
