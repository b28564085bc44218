/**
 * airstrap's registry vs Debian's docker-registry (Distribution 2.8): skopeo pushes a generated
 * multi-layer image of at least 1 GB to each and pulls it back, same machine, same run, fresh
 * stores every round. Prints MB/s (best of the rounds), the ratios, and each server's peak RSS
 * (VmHWM). Every server runs on 127.0.0.1 high ports and is killed at the end.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { startDockerRegistry } from "../../test/peers/docker-registry.js";
import { skopeoCopy } from "../../test/peers/skopeo.js";
import { writeOciLayout } from "../../test/services/registry/oci-image.js";

const LAYERS = Number(process.env.REGISTRY_BENCH_LAYERS ?? 8);
const LAYER_MIB = Number(process.env.REGISTRY_BENCH_LAYER_MIB ?? 128);
const ROUNDS = Number(process.env.REGISTRY_BENCH_ROUNDS ?? 2);

interface Result {
  pushMBs: number;
  pullMBs: number;
  peakRssMB: number;
  /** CPU seconds the server spent on the push and pull (user + system): load-independent. */
  cpuSeconds: number;
}

async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Starts the bundled registry on a free loopback port; resolves with its address and pid. */
function startAirstrap(bundle: string, root: string, scope: { after(fn: () => unknown): void }) {
  const child = spawn(process.execPath, [bundle, root, "127.0.0.1:0"], { stdio: ["ignore", "ignore", "pipe"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  scope.after(async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
    await exited;
  });
  return new Promise<{ host: string; pid: number }>((resolve, reject) => {
    let output = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /registry listening on (\S+?)[ ,]/.exec(output);
      if (match) resolve({ host: match[1]!, pid: child.pid! });
    });
    child.once("exit", () => reject(new Error(`airstrap registry exited: ${output}`)));
  });
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "airstrap-registry-bench-"));
  const cleanups: (() => unknown)[] = [];
  const scope = { after: (fn: () => unknown) => cleanups.push(fn) };
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn();
    cleanups.length = 0;
  };
  try {
    const bundle = join(dir, "serve.cjs");
    await build({
      entryPoints: [new URL("./serve.ts", import.meta.url).pathname],
      outfile: bundle,
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node20",
      logLevel: "warning",
    });
    process.stderr.write(`generating a ${LAYERS} × ${LAYER_MIB} MiB image...\n`);
    const image = await writeOciLayout(join(dir, "image"), { layers: LAYERS, layerBytes: LAYER_MIB * 1024 * 1024 });
    const megabytes = image.totalBytes / 1e6;
    const results: Record<string, Result[]> = { airstrap: [], distribution: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of round % 2 === 0 ? ["distribution", "airstrap"] : ["airstrap", "distribution"]) {
        const root = join(dir, `${name}-${round}`);
        const server =
          name === "airstrap"
            ? await startAirstrap(bundle, root, scope)
            : await startDockerRegistry(scope).then((s) => ({ host: s.host, pid: s.child.pid! }));
        const ref = `docker://${server.host}/bench/image:v1`;
        const cpuBefore = await cpuSeconds(server.pid);
        const push = await timed(() => skopeoCopy(`oci:${image.dir}:v1`, ref, ["--preserve-digests"]));
        const out = join(dir, `pulled-${name}-${round}`);
        const pull = await timed(() => skopeoCopy(ref, `oci:${out}:v1`, ["--preserve-digests"]));
        const rss = await peakRss(server.pid);
        const cpu = (await cpuSeconds(server.pid)) - cpuBefore;
        results[name]!.push({ pushMBs: megabytes / push, pullMBs: megabytes / pull, peakRssMB: rss, cpuSeconds: cpu });
        process.stderr.write(
          `round ${round + 1} ${name}: push ${(megabytes / push).toFixed(0)} MB/s, pull ${(megabytes / pull).toFixed(0)} MB/s, peak RSS ${rss.toFixed(0)} MB, server CPU ${cpu.toFixed(1)} s\n`,
        );
        await cleanup();
        await rm(out, { recursive: true, force: true });
        await rm(root, { recursive: true, force: true });
      }
    }
    const best = (name: string, key: keyof Result) => Math.max(...results[name]!.map((r) => r[key]));
    const peak = (name: string) => Math.max(...results[name]!.map((r) => r.peakRssMB));
    const cpu = (name: string) => Math.min(...results[name]!.map((r) => r.cpuSeconds));
    const rows = [
      ["", "push MB/s", "pull MB/s", "peak RSS MB", "server CPU s"],
      ["airstrap", best("airstrap", "pushMBs"), best("airstrap", "pullMBs"), peak("airstrap"), cpu("airstrap")],
      [
        "distribution 2.8",
        best("distribution", "pushMBs"),
        best("distribution", "pullMBs"),
        peak("distribution"),
        cpu("distribution"),
      ],
      [
        "ratio airstrap/distribution",
        best("airstrap", "pushMBs") / best("distribution", "pushMBs"),
        best("airstrap", "pullMBs") / best("distribution", "pullMBs"),
        peak("airstrap") / peak("distribution"),
        cpu("airstrap") / cpu("distribution"),
      ],
    ];
    console.log(
      `\nimage: ${LAYERS} layers, ${megabytes.toFixed(0)} MB; best of ${ROUNDS} round(s); skopeo --preserve-digests`,
    );
    console.log("targets: push and pull ratio >= 1.00, airstrap peak RSS < 150 MB\n");
    for (const row of rows) {
      const cells = row.map((cell, i) =>
        typeof cell === "number"
          ? i > 0 && row[0]!.toString().startsWith("ratio")
            ? `${cell.toFixed(2)}×`
            : cell.toFixed(i === 4 ? 1 : 0)
          : cell,
      );
      console.log(`| ${cells.map((c, i) => (i === 0 ? c.padEnd(28) : c.padStart(12))).join(" | ")} |`);
    }
  } finally {
    await cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
