/**
 * Instructions per DISCOVER of `airstrap dhcp serve`, counted by callgrind: repeatable on a loaded
 * machine, for before/after comparisons of the answer path. The server runs under callgrind in a
 * namespace; after a warm-up the counters are zeroed, `ROUNDS` bursts of the 200-MAC boot storm
 * (100 known) are sent, and the counters are dumped. Instructions of every thread count (V8's
 * compiler and GC threads included). With DHCP_PROFILE=DIR it writes a --cpu-prof profile of an
 * uninstrumented run instead; with DHCP_STRACE=FILE the syscall counts of the storms (strace -c);
 * with DHCP_PERF=FILE a `perf record -g` of the storms (the server runs with --perf-basic-prof,
 * so `perf report -i FILE` names JavaScript functions too).
 * Usage: node --import tsx bench/pxe/dhcp-instructions.ts [full|proxy]
 * (env DHCP_IR_ROUNDS, default 10; DHCP_IR_WARMUP storms before counting, default 40)
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { REPO } from "../../test/helpers/cli.js";
import { runDiscover } from "../../test/peers/airstrap-dhcp.js";
import { createPxeNetwork, type PxeNetwork, waitForOutput } from "../../test/peers/pxe-network.js";
import { stopChild } from "../../test/peers/unbound.js";
import { SERVER, stormConfig, stormMacs } from "../../test/services/dhcp/netns-fixture.js";

const run = promisify(execFile);
const ROUNDS = Number(process.env.DHCP_IR_ROUNDS ?? 10);
const WARMUP = Number(process.env.DHCP_IR_WARMUP ?? 40);
const mode = (process.argv[2] ?? "full") as "full" | "proxy";
const known = stormMacs(1, 100);
const unknown = stormMacs(2, 100);
const macs = known.flatMap((mac, i) => [mac, unknown[i]!]);

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "airstrap-dhcp-ir-"));
  const network = await createPxeNetwork("dhi", { srv: { address: `${SERVER}/24` }, cli: { defaultRoute: true } });
  process.once("SIGINT", () => void network.remove().then(() => process.exit(130)));
  try {
    const base = stormConfig(known);
    const config = mode === "full" ? base : { ...base, mode, reservations: [], knownMacs: known };
    const file = join(dir, "dhcp.json");
    await writeFile(file, JSON.stringify(config));
    // The bundle, as shipped: no transpiling at start (slow under callgrind).
    const bundle = join(dir, "airstrap.cjs");
    await run(process.execPath, [join(REPO, "scripts/build.mjs"), "--entry", "src/cli/main.ts", "--outfile", bundle], {
      cwd: REPO,
    });
    const serve = [process.execPath, bundle, "dhcp", "serve", "--config", file];
    const grind = [
      "valgrind",
      "--tool=callgrind",
      "--smc-check=all-non-file",
      `--callgrind-out-file=${join(dir, "callgrind.out")}`,
    ];
    const profileDir = process.env.DHCP_PROFILE;
    const strace = process.env.DHCP_STRACE;
    const perf = process.env.DHCP_PERF;
    if (strace) {
      await measure(network, serve, undefined, (pid) => ["strace", "-c", "-f", "-o", strace, "-p", pid]);
      process.stdout.write(`syscall counts of the storms written to ${strace}\n`);
    } else if (perf) {
      const [node, ...rest] = serve;
      const recorder = (pid: string) => ["perf", "record", "-F", "2999", "-g", "-o", perf, "-p", pid];
      await measure(network, [node!, "--perf-basic-prof", ...rest], undefined, recorder);
      process.stdout.write(`perf samples of the storms written to ${perf}\n`);
    } else if (!profileDir) {
      const instructions = await measure(network, [...grind, ...serve], dir);
      const perDiscover = instructions / (ROUNDS * macs.length);
      process.stdout.write(
        `${mode}: ${instructions} instructions for ${ROUNDS * macs.length} DISCOVERs (${ROUNDS * known.length} offers): ${perDiscover.toFixed(0)} per DISCOVER\n`,
      );
    } else {
      const [node, ...rest] = serve;
      await measure(network, [node!, "--cpu-prof", `--cpu-prof-dir=${profileDir}`, ...rest], undefined);
      process.stdout.write(`cpu profile written to ${profileDir}\n`);
    }
  } finally {
    await network.remove();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Warm-up, then ROUNDS storms; under callgrind (`dir` given) the instructions of the storms only. */
async function measure(
  network: PxeNetwork,
  command: string[],
  dir: string | undefined,
  /** A tool that watches the server during the storms (given its pid), stopped with SIGINT. */
  watcher?: (pid: string) => string[],
): Promise<number> {
  const child = network.spawn("srv", command, { ...process.env, NO_COLOR: "1" });
  child.stdout?.resume();
  let log = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    log += chunk.toString();
    if (log.length > 1_000_000) log = log.slice(-100_000);
  });
  try {
    await waitForOutput(child, /DHCP listening/, 600_000);
    const plan = { macs, vendor: "PXEClient:Arch:00000:UNDI:002001", arch: 0, waitMs: 30_000, expect: 100 };
    const check = (results: { replies: unknown[] }[]) => {
      const replies = results.reduce((sum, r) => sum + r.replies.length, 0);
      if (replies !== results.length * known.length)
        throw new Error(`${replies} replies for ${results.length} storms:\n${log.slice(-2000)}`);
    };
    // Warm-up until V8 has optimized the hot path: with a short one, most instructions counted are
    // TurboFan compiling on its background thread, not answering. Not checked: under callgrind
    // the first storms can outlast the client's wait.
    for (let done = 0; done < WARMUP; done += 5) await runDiscover(network, "cli", plan, 5, 100);
    if (dir !== undefined) await run("callgrind_control", ["--zero", String(child.pid)]);
    const watch = watcher?.(String(child.pid));
    const tracer = watch === undefined ? undefined : spawn(watch[0]!, watch.slice(1), { stdio: "ignore" });
    if (tracer) await new Promise((resolve) => setTimeout(resolve, 1000));
    check(await runDiscover(network, "cli", plan, ROUNDS, 200));
    if (tracer) {
      const exited = new Promise((resolve) => tracer.once("exit", resolve));
      tracer.kill("SIGINT");
      await exited;
    }
    if (dir === undefined) return 0;
    await run("callgrind_control", ["--dump", String(child.pid)]);
    const dumps = (await readdir(dir)).filter((name) => name.startsWith("callgrind.out"));
    let total = 0;
    for (const name of dumps) {
      // The dump after zeroing; the final dump at exit (after stopChild) is not written yet.
      const text = await readFile(join(dir, name), "utf8");
      total = Math.max(total, Number(/^totals: (\d+)/m.exec(text)?.[1] ?? 0));
      if (process.env.DHCP_IR_KEEP) await writeFile(process.env.DHCP_IR_KEEP, text);
    }
    return total;
  } finally {
    await stopChild(child);
  }
}

await main();
