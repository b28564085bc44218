/**
 * Issue 20's workload: a 1 GiB image of 4 gzip layers of 256 MiB (gzip, so skopeo moves the
 * layers unchanged), htpasswd auth on both servers, each round on fresh stores: skopeo push,
 * skopeo pull, containerd's own pull (`ctr images pull` through a hosts.toml mirror, a private
 * containerd per pull), and 10 nodes pulling at once (curl from 10 loopback source addresses,
 * 3 downloads each like containerd). Rounds alternate which server goes first; prints every
 * round's ratios, then medians, and each server's peak RSS (VmHWM) per step.
 */
import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { renderHostsToml } from "../../src/services/registry/hosts-toml.js";
import { startContainerd } from "../../test/peers/containerd.js";
import { skopeoCopy } from "../../test/peers/skopeo.js";
import { type GeneratedImage, writeOciLayout } from "../../test/services/registry/oci-image.js";
import { type Measured, measured, median, peakRssMB, resetPeakRss } from "./measure.js";
import { type BenchServer, buildRegistryExecutable, cleanupScope, type ServerName, startServer } from "./servers.js";

const run = promisify(execFile);
const LAYERS = Number(process.env.REGISTRY_BENCH_LAYERS ?? 4);
const LAYER_MIB = Number(process.env.REGISTRY_BENCH_LAYER_MIB ?? 256);
const ROUNDS = Number(process.env.REGISTRY_BENCH_ROUNDS ?? 3);
const NODES = Number(process.env.REGISTRY_BENCH_NODES ?? 10);
const ALL_STEPS = ["push", "pull", "ctr", "nodes"] as const;
type Step = (typeof ALL_STEPS)[number];
/** REGISTRY_BENCH_STEPS=pull,ctr runs only those after the push (which fills the stores). */
const STEPS = ALL_STEPS.filter(
  (step) =>
    step === "push" || !process.env.REGISTRY_BENCH_STEPS || process.env.REGISTRY_BENCH_STEPS.split(",").includes(step),
);
/**
 * One untimed skopeo pull and ctr pull from each server before the timed ones
 * (REGISTRY_BENCH_WARM_UP=0 turns it off): without it, whichever pull came first in a round spent
 * 1.3–2.1 s more of the client's own system CPU than the second (kernel time writing the pulled
 * layers, not the server's), which decided the paired ratio more than either server did
 * (docs/registry.md).
 */
const WARM_UP = process.env.REGISTRY_BENCH_WARM_UP !== "0";
const USER = "bench";
const PASSWORD = "bench-password-20";

type Scope = { after(fn: () => unknown): void };
type Row = Record<Step, Measured & { rssMB: number }>;

/** containerd pulls `registry.bench/bench/image:v1`, which its hosts.toml sends to `host`. */
async function ctrPull(host: string, dir: string, scope: Scope): Promise<void> {
  const hostsDir = join(dir, "certs.d");
  await mkdir(join(hostsDir, "registry.bench"), { recursive: true });
  await writeFile(join(hostsDir, "registry.bench", "hosts.toml"), renderHostsToml({ endpoints: [`http://${host}`] }));
  const containerd = await startContainerd(scope);
  await containerd.ctr([
    ...["-n", "bench", "images", "pull", "--hosts-dir", hostsDir, "--user", `${USER}:${PASSWORD}`],
    ...["--snapshotter", "native", "registry.bench/bench/image:v1"],
  ]);
}

/** `NODES` clients on their own loopback addresses, each fetching the image 3 blobs at a time. */
async function nodesPull(host: string, image: GeneratedImage): Promise<void> {
  const urls = [`manifests/v1`, ...image.layerDigests.map((digest) => `blobs/${digest}`)];
  await Promise.all(
    Array.from({ length: NODES }, (_, node) => {
      const args = ["--no-progress-meter", "--fail", "--parallel", "--parallel-max", "3"];
      args.push("--interface", `127.0.0.${20 + node}`, "--user", `${USER}:${PASSWORD}`);
      // Distribution answers 404 for an OCI manifest to a client that does not accept the type.
      args.push("--header", "Accept: application/vnd.oci.image.manifest.v1+json");
      for (const path of urls) args.push("--output", "/dev/null", `http://${host}/v2/bench/image/${path}`);
      return new Promise<void>((resolve, reject) => {
        const child = spawn("curl", args, { stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (chunk: Buffer) => {
          stderr += chunk.toString();
        });
        child.once("error", reject);
        child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`curl node ${node}: ${stderr}`))));
      });
    }),
  );
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "airstrap-registry-pull-bench-"));
  const { scope, cleanup } = cleanupScope();
  try {
    const executable = await buildRegistryExecutable(dir);
    const htpasswd = join(dir, "htpasswd");
    await run("htpasswd", ["-B", "-b", "-c", htpasswd, USER, PASSWORD]);
    const nodeFlags = (process.env.REGISTRY_BENCH_NODE_FLAGS ?? "").split(" ").filter(Boolean);
    process.stderr.write(`generating ${LAYERS} gzip layers of ${LAYER_MIB} MiB...\n`);
    const image = await writeOciLayout(join(dir, "image"), {
      layers: LAYERS,
      layerBytes: LAYER_MIB * 1024 * 1024,
      gzip: true,
    });
    const megabytes = image.totalBytes / 1e6;
    console.log(
      `image: ${LAYERS} gzip layers, ${megabytes.toFixed(0)} MB; ${ROUNDS} round(s); htpasswd auth on both; ${NODES} nodes; node flags: ${nodeFlags.join(" ") || "none"}`,
    );
    const results: Record<ServerName, Row[]> = { airstrap: [], distribution: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const order: ServerName[] = round % 2 === 0 ? ["distribution", "airstrap"] : ["airstrap", "distribution"];
      const servers = {} as Record<ServerName, BenchServer>;
      const idleMB = {} as Record<ServerName, number>;
      for (const name of order) {
        const root = join(dir, `${name}-${round}`);
        servers[name] = await startServer(name, { executable, root, htpasswd, nodeFlags }, scope);
        idleMB[name] = await peakRssMB(servers[name].pid);
      }
      const ref = (name: ServerName) => `docker://${servers[name].host}/bench/image:v1`;
      const creds = `${USER}:${PASSWORD}`;
      const work: Record<Step, (name: ServerName) => Promise<unknown>> = {
        push: (name) => skopeoCopy(`oci:${image.dir}:v1`, ref(name), ["--dest-creds", creds]),
        pull: async (name) => {
          const out = join(dir, `pulled-${name}`);
          await skopeoCopy(ref(name), `oci:${out}:v1`, ["--src-creds", creds]);
          await rm(out, { recursive: true, force: true });
        },
        ctr: async (name) => {
          const ctrScope: (() => unknown)[] = [];
          try {
            await ctrPull(servers[name].host, join(dir, `ctr-${name}`), { after: (fn) => ctrScope.push(fn) });
          } finally {
            for (const fn of ctrScope.reverse()) await fn();
            await rm(join(dir, `ctr-${name}`), { recursive: true, force: true });
          }
        },
        nodes: (name) => nodesPull(servers[name].host, image),
      };
      const rows = { airstrap: {}, distribution: {} } as Record<ServerName, Row>;
      for (const step of STEPS) {
        if (WARM_UP && (step === "pull" || step === "ctr")) for (const name of order) await work[step](name);
        for (const name of order) {
          await resetPeakRss(servers[name].pid);
          const timed = await measured(servers[name].pid, () => work[step](name));
          rows[name][step] = { ...timed, rssMB: await peakRssMB(servers[name].pid) };
        }
      }
      for (const name of order) results[name].push(rows[name]);
      const ratio = (step: Step) => rows.distribution[step].seconds / rows.airstrap[step].seconds;
      const figures = (name: ServerName) =>
        STEPS.map((s) => {
          const r = rows[name][s];
          return `${s} ${r.seconds.toFixed(2)} s/${r.rssMB.toFixed(0)} MB (CPU server ${r.cpu.toFixed(2)}, client ${r.clientCpu.toFixed(2)} s)`;
        }).join(", ");
      console.log(
        `round ${round + 1} (${order[0]} first, load ${loadavg()[0]!.toFixed(1)}): ${STEPS.map((s) => `${s} ${ratio(s).toFixed(2)}×`).join(", ")}; ` +
          `airstrap idle ${idleMB.airstrap.toFixed(0)} MB, ${figures("airstrap")}; ` +
          `distribution idle ${idleMB.distribution.toFixed(0)} MB, ${figures("distribution")}`,
      );
      await cleanup();
      for (const name of order) await rm(join(dir, `${name}-${round}`), { recursive: true, force: true });
    }
    printTable(results, megabytes);
  } finally {
    await cleanup();
    await rm(dir, { recursive: true, force: true });
  }
}

function printTable(results: Record<ServerName, Row[]>, megabytes: number): void {
  const mid = (name: ServerName, step: Step, key: keyof Measured) => median(results[name].map((r) => r[step][key]));
  const peak = (name: ServerName, step: Step) => Math.max(...results[name].map((r) => r[step].rssMB));
  const volume = (step: Step) => (step === "nodes" ? NODES * megabytes : megabytes);
  const header = ["", ...STEPS.map((s) => `${s} MB/s`), ...STEPS.map((s) => `${s} RSS MB`)];
  const row = (name: ServerName) => [
    name === "airstrap" ? "airstrap" : "distribution 2.8",
    ...STEPS.map(
      (s) => `${(volume(s) / mid(name, s, "seconds")).toFixed(0)} (${mid(name, s, "cpu").toFixed(1)} s CPU)`,
    ),
    ...STEPS.map((s) => peak(name, s).toFixed(0)),
  ];
  const ratios = [
    "ratio (speed; RSS)",
    ...STEPS.map((s) => `${(mid("distribution", s, "seconds") / mid("airstrap", s, "seconds")).toFixed(2)}×`),
    ...STEPS.map((s) => `${(peak("airstrap", s) / peak("distribution", s)).toFixed(2)}×`),
  ];
  console.log(
    `\nmedians of ${results.airstrap.length} rounds; RSS: highest VmHWM of the step; load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}`,
  );
  console.log("targets: pull >= 1.10×, ctr >= 1.00×, nodes >= 1.00×, push >= 1.10×, airstrap RSS <= 80 MB\n");
  for (const cells of [header, row("airstrap"), row("distribution"), ratios]) {
    console.log(`| ${cells.map((c, i) => (i === 0 ? c.padEnd(18) : c.padStart(10))).join(" | ")} |`);
  }
  printCpuTable(mid);
}

/**
 * Where each step's time went (medians): the server's and the clients' CPU, the machine's busy
 * CPU over its cores (the wall time a step bound by CPU alone would take) and its iowait.
 * A skopeo pull ends with the fsync of every layer, while the cores mostly wait for the disk.
 */
function printCpuTable(mid: (name: ServerName, step: Step, key: keyof Measured) => number): void {
  const cores = cpus().length;
  console.log(`\nCPU seconds per step (medians; ${cores} cores; client: skopeo; ctr with its containerd; the curls)\n`);
  console.log("| step | server | wall s | server CPU | client CPU | machine busy / cores | iowait / cores |");
  for (const step of STEPS) {
    for (const name of ["airstrap", "distribution"] as ServerName[]) {
      const cells = [
        step,
        name,
        mid(name, step, "seconds").toFixed(2),
        mid(name, step, "cpu").toFixed(2),
        mid(name, step, "clientCpu").toFixed(2),
        (mid(name, step, "machineBusy") / cores).toFixed(2),
        (mid(name, step, "machineIowait") / cores).toFixed(2),
      ];
      console.log(`| ${cells.join(" | ")} |`);
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
