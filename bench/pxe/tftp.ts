/**
 * airstrap's TFTP server vs dnsmasq's, same machine, same run, same client: curl tftp:// fetching
 * a 30 MiB random file (an initrd-sized blob) at blksize 512 and 1468. dnsmasq's TFTP port cannot
 * be moved off 69, so both serve port 69, on different loopback addresses (127.0.0.2 dnsmasq,
 * 127.0.0.3 airstrap, 127.0.0.4 the floor: bench/pxe/tftp-floor.mjs, the least a Node program does
 * to serve lock-step). airstrap runs as its esbuild bundle, as it ships. Rounds are interleaved; the
 * figures are medians. The servers run in the foreground and are stopped at the end.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { chmod, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { addSummaryRow, loadNow } from "./summary.js";

const run = promisify(execFile);
const ROUNDS = Number(process.env.TFTP_BENCH_ROUNDS ?? 3);
const MIB = Number(process.env.TFTP_BENCH_MIB ?? 30);

interface Server {
  name: string;
  address: string;
  child: ChildProcess;
}

async function startServer(
  name: string,
  address: string,
  command: string,
  args: string[],
  ready: RegExp,
): Promise<Server> {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const seen = new Promise<void>((resolve, reject) => {
    const look = (chunk: Buffer) => {
      output += chunk;
      if (ready.test(output)) resolve();
    };
    child.stdout!.on("data", look);
    child.stderr!.on("data", look);
    child.once("exit", (code) => reject(new Error(`${name} exited (${code}): ${output}`)));
  });
  await Promise.race([
    seen,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`${name} not ready: ${output}`)), 20_000)),
  ]);
  return { name, address, child };
}

async function stop(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  server.child.kill("SIGTERM");
  await once(server.child, "exit");
}

/**
 * On-CPU time and time spent runnable but waiting for a CPU (run-queue delay), in seconds, of
 * every thread of a process so far (/proc/PID/task/* /schedstat, ns). In lock-step each block
 * waits for the server to be woken: on a loaded machine the run-queue delay is most of a block.
 */
async function schedSeconds(pid: number): Promise<{ cpu: number; wait: number }> {
  let cpu = 0;
  let wait = 0;
  for (const task of await readdir(`/proc/${pid}/task`)) {
    const fields = (await readFile(`/proc/${pid}/task/${task}/schedstat`, "utf8").catch(() => "0 0")).split(" ");
    cpu += Number(fields[0]);
    wait += Number(fields[1]);
  }
  return { cpu: cpu / 1e9, wait: wait / 1e9 };
}

/** A client fetching the file: what runs, for a server and an output path. */
interface Workload {
  name: string;
  blksize: number;
  command(server: Server, output: string): [string, string[]];
}

const curl = (blksize: number): Workload => ({
  name: `curl, blksize ${blksize}`,
  blksize,
  command: (server, output) => [
    "curl",
    [
      "--silent",
      "--show-error",
      "--fail",
      "--max-time",
      "120",
      "--tftp-blksize",
      String(blksize),
      "-o",
      output,
      `tftp://${server.address}/initrd.img`,
    ],
  ],
});

/** atftp asks for a window; dnsmasq 2.90 has no RFC 7440 and answers it lock-step. */
const atftpWindow = (blksize: number, windowsize: number): Workload => ({
  name: `atftp, blksize ${blksize}, windowsize ${windowsize}`,
  blksize,
  command: (server, output) => [
    "timeout",
    [
      "120",
      "atftp",
      "--option",
      `blksize ${blksize}`,
      "--option",
      `windowsize ${windowsize}`,
      "-g",
      "-r",
      "initrd.img",
      "-l",
      output,
      server.address,
      "69",
    ],
  ],
});

const WORKLOADS = [curl(512), curl(1468), atftpWindow(1468, 16)];

/** Wall-clock seconds of one fetch, and the server's CPU and run-queue seconds meanwhile. */
async function fetch(
  server: Server,
  workload: Workload,
  output: string,
): Promise<{ seconds: number; cpu: number; wait: number }> {
  const before = await schedSeconds(server.child.pid!);
  const started = performance.now();
  const [command, args] = workload.command(server, output);
  await run(command, args);
  const seconds = (performance.now() - started) / 1000;
  const after = await schedSeconds(server.child.pid!);
  return { seconds, cpu: after.cpu - before.cpu, wait: after.wait - before.wait };
}

const sha256 = async (path: string) =>
  createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
const load = (l: number[]) => l.map((v) => v.toFixed(1)).join(" ");
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const dir = await mkdtemp(join(tmpdir(), "airstrap-tftp-bench-"));
const servers: Server[] = [];
try {
  // dnsmasq drops to another user: the root and the file must be readable by it.
  await chmod(dir, 0o755);
  const file = join(dir, "initrd.img");
  await run("sh", ["-c", `head -c ${MIB * 1024 * 1024} /dev/urandom > ${file}`]);
  await chmod(file, 0o644);
  const expected = await sha256(file);
  // airstrap as it ships: the esbuild bundle under plain node (the tsx loader adds a thread of its own).
  const bundle = join(dir, "airstrap.cjs");
  await run(process.execPath, ["scripts/build.mjs", "--outfile", bundle]);
  servers.push(
    await startServer(
      "dnsmasq",
      "127.0.0.2",
      "dnsmasq",
      [
        "--no-daemon",
        "--conf-file=/dev/null",
        "--port=0",
        "--enable-tftp",
        `--tftp-root=${dir}`,
        "--listen-address=127.0.0.2",
        "--bind-interfaces",
        "--pid-file=",
        "--quiet-tftp",
        "--log-facility=-",
      ],
      /TFTP root is/,
    ),
    await startServer(
      "airstrap",
      "127.0.0.3",
      process.execPath,
      [bundle, "tftp", "serve", "--root", dir, "--listen", "127.0.0.3:69"],
      /TFTP listening/,
    ),
    // The floor: the least a Node program does to serve lock-step (bench/pxe/tftp-floor.mjs).
    await startServer(
      "floor",
      "127.0.0.4",
      process.execPath,
      ["bench/pxe/tftp-floor.mjs", dir, "127.0.0.4", "69"],
      /TFTP floor listening/,
    ),
  );
  const loadBefore = loadavg();
  const out = join(dir, "out");
  const results = new Map<string, { seconds: number[]; cpu: number[]; wait: number[] }>();
  for (const workload of WORKLOADS) {
    for (const server of servers) {
      await fetch(server, workload, out); // warm-up: page cache, JIT
      if ((await sha256(out)) !== expected) throw new Error(`${server.name}, ${workload.name}: wrong bytes`);
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const server of round % 2 === 0 ? servers : [...servers].reverse()) {
        const { seconds, cpu, wait } = await fetch(server, workload, "/dev/null");
        const key = `${workload.name}|${server.name}`;
        const entry = results.get(key) ?? { seconds: [], cpu: [], wait: [] };
        entry.seconds.push(seconds);
        entry.cpu.push(cpu);
        entry.wait.push(wait);
        results.set(key, entry);
      }
    }
  }
  const lines = [
    `TFTP on loopback, ${MIB} MiB random file; wall-clock seconds of the client, median of ${ROUNDS} interleaved runs after one checked warm-up; server CPU and run-queue wait (runnable, no CPU) per block from /proc/PID/task/*/schedstat; load average ${load(loadBefore)} → ${load(loadavg())}`,
    "curl has no windowsize (lock-step); dnsmasq 2.90 has no windowsize either, so it answers atftp's window lock-step",
    "",
    "| client | server | median s | MB/s | throughput vs dnsmasq | server CPU s | wall µs/block | server CPU µs/block | server run-queue wait µs/block |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const workload of WORKLOADS) {
    const reference = median(results.get(`${workload.name}|dnsmasq`)!.seconds);
    for (const server of servers) {
      const entry = results.get(`${workload.name}|${server.name}`)!;
      const seconds = median(entry.seconds);
      const rate = (MIB * 1024 * 1024) / seconds / 1e6;
      const perBlock = (value: number) =>
        ((value * 1e6) / Math.ceil((MIB * 1024 * 1024) / workload.blksize)).toFixed(1);
      lines.push(
        `| ${workload.name} | ${server.name} | ${seconds.toFixed(3)} | ${rate.toFixed(1)} | ${(reference / seconds).toFixed(2)}× | ${median(entry.cpu).toFixed(2)} | ${perBlock(seconds)} | ${perBlock(median(entry.cpu))} | ${perBlock(median(entry.wait))} |`,
      );
    }
  }
  process.stdout.write(`${lines.join("\n")}\n`);
  for (const workload of WORKLOADS) {
    const seconds = (server: string) => median(results.get(`${workload.name}|${server}`)!.seconds);
    const rate = (server: string) => (MIB * 1024 * 1024) / seconds(server) / 1e6;
    addSummaryRow({
      bench: `TFTP ${MIB} MiB`,
      measure: `MB/s, ${workload.name}`,
      values: { airstrap: rate("airstrap"), dnsmasq: rate("dnsmasq"), floor: rate("floor") },
      ratio: `${(rate("airstrap") / rate("dnsmasq")).toFixed(2)}× (floor ${(rate("floor") / rate("dnsmasq")).toFixed(2)}×, airstrap/floor ${(rate("airstrap") / rate("floor")).toFixed(2)}×)`,
      target: "≥ 1.0×",
      met: rate("airstrap") >= rate("dnsmasq"),
      load: loadNow(),
    });
  }
} finally {
  await Promise.all(servers.map(stop));
  await rm(dir, { recursive: true, force: true });
}
