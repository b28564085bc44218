import { execFileSync, spawn } from "node:child_process";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { LAB_MIRROR_PORT } from "../../src/lab/mirror-helper.js";
import { createTestLab, labSkipReason, type TestLab } from "../../test/lab/lab-fixture.js";
import { buildSingleExecutable } from "../../test/peers/airstrap-sea.js";
import { cpuBetween, sampleCpu } from "./cpu-usage.js";
import { type Measured, report, type Scenario } from "./report.js";

/**
 * Wall time of `airstrap install` plus `airstrap wait` (until every node is Ready) on fresh lab
 * hosts: 1 server; 3 servers + N agents for N = 2, 6, 12; and 3 + 12 again one host at a time
 * (`--concurrency 1`, as Ansible with one fork would). Every measurement gets a lab of its own,
 * brought up and pulled before the clock starts and torn down after it stops.
 */

const SCENARIOS: Scenario[] = [
  { label: "1 server", servers: 1, agents: 0 },
  { label: "3 servers + 2 agents", servers: 3, agents: 2 },
  { label: "3 servers + 6 agents", servers: 3, agents: 6 },
  { label: "3 servers + 12 agents", servers: 3, agents: 12 },
  { label: "3 servers + 12 agents, serial", servers: 3, agents: 12, concurrency: 1 },
  // What the host-to-host relay costs here, where every host shares 2 CPUs and no link is narrow.
  { label: "3 servers + 12 agents, no relay", servers: 3, agents: 12, relay: false },
];
/** Per command; a run that takes longer than this is a failure, not a figure. */
const COMMAND_TIMEOUT_MS = 300_000;
/** The lab this bench uses for scenario i is createTestLab offset 41 + i (tests use lower ones). */
const FIRST_OFFSET = 41;

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

async function timed(
  command: string,
  args: string[],
  cwd: string,
  what: string,
): Promise<{ seconds: number; output: string }> {
  const started = process.hrtime.bigint();
  const result = await run(command, args, cwd);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.code !== 0) throw new Error(`${what} failed (exit ${result.code}):\n${result.output.slice(-3000)}`);
  return { seconds, output: result.output };
}

/** Seconds each phase took, from the `install.phase.end` events of `--output json`. */
function phaseSeconds(output: string): Map<string, number> {
  const phases = new Map<string, number>();
  for (const line of output.split("\n")) {
    if (!line.startsWith("{")) continue;
    const event = JSON.parse(line) as { kind: string; phase?: string; detail?: { ms?: number } };
    if (event.kind === "install.phase.end" && event.phase && typeof event.detail?.ms === "number")
      // With lanes a phase ends once per lane: the longer one is the phase's share of the run.
      phases.set(event.phase, Math.max(phases.get(event.phase) ?? 0, event.detail.ms / 1000));
  }
  return phases;
}

async function measure(
  scenario: Scenario,
  index: number,
  airstrap: string,
  track: (site?: TestLab) => void,
): Promise<Measured> {
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
    if (scenario.relay === false) {
      const manifest = readFileSync(site.file, "utf8");
      const relayOff = manifest.replace(
        /bootstrap: \{ address: ([^ }]+) \}/,
        "bootstrap: { address: $1, relay: false }",
      );
      if (relayOff === manifest)
        throw new Error("the lab manifest's bootstrap line changed: cannot turn the relay off");
      writeFileSync(site.file, relayOff);
    }
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
      "--output",
      "json",
      ...(scenario.concurrency === undefined ? [] : ["--concurrency", String(scenario.concurrency)]),
    ];
    const cpuAtStart = await sampleCpu(site);
    const installed = await timed(airstrap, install, site.dir, `${scenario.label}: install`);
    const waited = await timed(
      airstrap,
      ["wait", "-f", site.file, "--timeout", "240"],
      site.dir,
      `${scenario.label}: wait`,
    );
    return {
      scenario,
      hosts: hosts.length,
      installSeconds: installed.seconds,
      waitSeconds: waited.seconds,
      phases: phaseSeconds(installed.output),
      cpu: cpuBetween(cpuAtStart, await sampleCpu(site)),
    };
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
    console.log(`\n${report(results)}`);
  } finally {
    binary.remove();
  }
}

await main();
