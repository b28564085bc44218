import { execFileSync, spawn } from "node:child_process";
import { appendFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { LAB_MIRROR_PORT } from "../../src/lab/mirror-helper.js";
import { createTestLab, labSkipReason, type TestLab } from "../../test/lab/lab-fixture.js";
import { buildSingleExecutable } from "../../test/peers/airstrap-sea.js";

/**
 * Wall time of `airstrap install` plus `airstrap wait` (until every node is Ready) on fresh lab
 * hosts: 1 server; 3 servers + N agents for N = 2, 6, 12; and 3 + 12 again one host at a time
 * (`--concurrency 1`, as Ansible with one fork would). Every measurement gets a lab of its own,
 * brought up and pulled before the clock starts and torn down after it stops.
 */

interface Scenario {
  label: string;
  servers: number;
  agents: number;
  concurrency?: number;
}

const SCENARIOS: Scenario[] = [
  { label: "1 server", servers: 1, agents: 0 },
  { label: "3 servers + 2 agents", servers: 3, agents: 2 },
  { label: "3 servers + 6 agents", servers: 3, agents: 6 },
  { label: "3 servers + 12 agents", servers: 3, agents: 12 },
  { label: "3 servers + 12 agents, serial", servers: 3, agents: 12, concurrency: 1 },
];
/** Per command; a run that takes longer than this is a failure, not a figure. */
const COMMAND_TIMEOUT_MS = 300_000;
/** The lab this bench uses for scenario i is createTestLab offset 41 + i (tests use lower ones). */
const FIRST_OFFSET = 41;

interface Measured {
  scenario: Scenario;
  hosts: number;
  installSeconds: number;
  waitSeconds: number;
}

function run(command: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), COMMAND_TIMEOUT_MS);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, output });
    });
  });
}

async function timed(command: string, args: string[], cwd: string, what: string): Promise<number> {
  const started = process.hrtime.bigint();
  const result = await run(command, args, cwd);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.code !== 0) throw new Error(`${what} failed (exit ${result.code}):\n${result.output.slice(-3000)}`);
  return seconds;
}

async function measure(scenario: Scenario, index: number, airstrap: string, track: (site?: TestLab) => void) {
  const hosts = [
    ...Array.from({ length: scenario.servers }, (_, i) => ({
      name: `srv-${i + 1}`,
      role: "server" as const,
      octet: 11 + i,
    })),
    ...Array.from({ length: scenario.agents }, (_, i) => ({
      name: `agt-${i + 1}`,
      role: "agent" as const,
      octet: 31 + i,
    })),
  ];
  const site = await createTestLab({ offset: FIRST_OFFSET + index, hosts });
  track(site);
  try {
    appendFileSync(site.file, `  artifacts: { source: "http://${site.bootstrapAddress}:${LAB_MIRROR_PORT}/rke2" }\n`);
    await site.up();
    const pull = await run(airstrap, ["artifacts", "pull", "-f", site.file], site.dir);
    if (pull.code !== 0) throw new Error(`artifacts pull failed:\n${pull.output}`);
    const install = [
      "install",
      "-f",
      site.file,
      "--node-binary",
      airstrap,
      "--artifact-transfer",
      "http",
      "--ready-timeout",
      "240",
      ...(scenario.concurrency === undefined ? [] : ["--concurrency", String(scenario.concurrency)]),
    ];
    const installSeconds = await timed(airstrap, install, site.dir, `${scenario.label}: install`);
    const waitSeconds = await timed(
      airstrap,
      ["wait", "-f", site.file, "--timeout", "240"],
      site.dir,
      `${scenario.label}: wait`,
    );
    return { scenario, hosts: hosts.length, installSeconds, waitSeconds };
  } catch (error) {
    // The lab is removed below: keep what its hosts said, so a failed figure can be explained.
    const journals = site.hosts.map(
      (host) =>
        `--- ${host.name}\n${site.ssh(host, `journalctl -u rke2-${host.role} -u airstrap-node --no-pager -n 15 | grep -v SEA`).stdout}`,
    );
    throw new Error(`${(error as Error).message}\n${journals.join("\n")}`);
  } finally {
    await site.remove();
    track(undefined);
  }
}

function table(results: Measured[]): string {
  const rows = [
    ["scenario", "hosts", "install s", "wait s", "total s"],
    ...results.map((r) => [
      r.scenario.label,
      String(r.hosts),
      r.installSeconds.toFixed(1),
      r.waitSeconds.toFixed(1),
      (r.installSeconds + r.waitSeconds).toFixed(1),
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join("  ")).join("\n");
}

const total = (label: string, results: Measured[]) => {
  const found = results.find((r) => r.scenario.label === label);
  return found === undefined ? undefined : found.installSeconds + found.waitSeconds;
};

function ratioLine(what: string, numerator: number | undefined, denominator: number | undefined, target: string) {
  if (numerator === undefined || denominator === undefined) return `${what}: not measured`;
  return `${what}: ${(numerator / denominator).toFixed(2)}× (target ${target})`;
}

async function main(): Promise<void> {
  const skip = await labSkipReason();
  if (skip) throw new Error(skip);
  // Where run.sh's trap finds the lab still up, should this process die before removing it.
  const currentSiteFile = process.env.INSTALL_BENCH_CURRENT;
  let current: TestLab | undefined;
  const track = (site?: TestLab) => {
    current = site;
    if (currentSiteFile) writeFileSync(currentSiteFile, site ? site.file : "");
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      void (current?.remove() ?? Promise.resolve()).finally(() => process.exit(130));
    });
  }

  const binary = buildSingleExecutable("src/cli/main.ts");
  try {
    const version = execFileSync(binary.path, ["--version"], { encoding: "utf8" }).trim();
    console.log(
      `airstrap install in the lab (simulated RKE2; airstrap ${version} single-file executable; ${cpus().length} CPUs; load average ${loadavg()[0]!.toFixed(1)} at start)`,
    );
    const results: Measured[] = [];
    for (const [index, scenario] of SCENARIOS.entries()) {
      const result = await measure(scenario, index, binary.path, track);
      console.log(`  ${scenario.label}: ${(result.installSeconds + result.waitSeconds).toFixed(1)} s`);
      results.push(result);
    }
    console.log(`\n${table(results)}\n`);
    console.log(
      ratioLine(
        "N = 12 vs N = 2 agents (3 servers)",
        total("3 servers + 12 agents", results),
        total("3 servers + 2 agents", results),
        "< 1.2×",
      ),
    );
    console.log(
      ratioLine(
        "one host at a time vs all at once (3 + 12)",
        total("3 servers + 12 agents, serial", results),
        total("3 servers + 12 agents", results),
        "≥ 3×",
      ),
    );
  } finally {
    binary.remove();
  }
}

await main();
