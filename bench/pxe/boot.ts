import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { silentEvents } from "../../src/events.js";
import { ensureNetbootImage, type NetbootImage } from "../../src/lab/netboot/build.js";
import { labPower } from "../../src/lab/power.js";
import { createTestLab, labSkipReason } from "../../test/lab/lab-fixture.js";
import { buildSingleExecutable } from "../../test/peers/airstrap-sea.js";
import { sshRunAsync } from "../../test/peers/lab-ssh.js";
import { waitForSshAnswer, writeFloorIgnition } from "../../test/peers/pxe-floor.js";
import { benchVms, type InitRunResult, initToReady } from "./boot-init.js";
import { type Marks, type Step, watchConsole } from "./boot-marks.js";
import { AIRSTRAP, type BootServices, CONSOLE_ARGS, FLOOR, SERVICES_OCTET, type Setup } from "./boot-setups.js";

/**
 * Issue 15's benchmark: power-on to SSH for 1, 2 and 4 PXE VMs started together, booted by the
 * floor (dnsmasq DHCP + TFTP and a static HTTP server) and by `airstrap serve` (its DHCP, TFTP and
 * boot HTTP server), with the same netboot image and the same Ignition file, in alternating order;
 * the ratio airstrap / floor; and where the time goes per VM, from the servers' records and each
 * serial console (timestamped here as its lines appear).
 */

const COUNTS = (process.env.PXE_BENCH_VMS ?? "1,2,4").split(",").map(Number);
const BOOT_TIMEOUT_MS = Number(process.env.PXE_BENCH_TIMEOUT_S ?? 600) * 1000;
/** Where each VM's console goes, every line stamped with the seconds since power-on. */
const KEEP = process.env.PXE_BENCH_KEEP ?? mkdtempSync(join(tmpdir(), "airstrap-pxe-bench-"));
const SETUP_NAMES = (process.env.PXE_BENCH_SETUPS ?? "floor,airstrap,init").split(",");
const SETUPS = SETUP_NAMES.map((name) => ({ floor: FLOOR, airstrap: AIRSTRAP })[name as "floor" | "airstrap"]).filter(
  (setup): setup is Setup => setup !== undefined,
);
/** `init`: airstrap init to Ready on the same number of VMs (the "to Ready" column). */
const WITH_INIT = SETUP_NAMES.includes("init");

interface VmResult {
  host: string;
  sshMs?: number;
  /** ms after power-on (dhcp-acks: a count). */
  marks: Marks;
}

interface Run {
  setup: Setup;
  count: number;
  results: VmResult[];
  load: [number, number];
}

async function bootOnce(setup: Setup, count: number, image: NetbootImage, airstrap: string): Promise<Run> {
  const site = await createTestLab({
    offset: 70 + count,
    hosts: benchVms(count, "01"),
    pxe: { addressOctet: SERVICES_OCTET, args: CONSOLE_ARGS },
  });
  let services: BootServices | undefined;
  const loadBefore = loadavg()[0]!;
  try {
    await site.up();
    const { ignition, knownHosts } = await writeFloorIgnition(
      site.dir,
      readFileSync(`${site.identity}.pub`, "utf8").trim(),
      site.hosts.map((host) => host.address),
    );
    services = await setup.start({ site, image, ignition, workDir: join(site.dir, "services"), airstrap });
    let poweredOn = Date.now();
    const consoles = site.hosts.map((host) =>
      watchConsole(
        join(site.dir, `.airstrap/lab/logs/${host.name}.console.log`),
        join(KEEP, `${count}vm-${setup.name.split(" ")[0]}-${host.name}.console.txt`),
        () => poweredOn,
      ),
    );
    poweredOn = Date.now();
    await Promise.all(site.hosts.map((host) => labPower(site.state, host.name, "on", silentEvents)));
    const answers = await Promise.all(
      site.hosts.map((host) =>
        waitForSshAnswer(
          () =>
            sshRunAsync(
              { address: host.address, user: "core" },
              site.identity,
              knownHosts,
              "test -e /etc/airstrap-floor",
            ),
          BOOT_TIMEOUT_MS,
        ),
      ),
    );
    const results = site.hosts.map((host, index): VmResult => {
      const absolute: Marks = { ...consoles[index]!.stop(), ...services!.marks({ ...host, mac: host.mac! }) };
      const marks: Marks = {};
      for (const [step, value] of Object.entries(absolute) as [Step, number][]) {
        marks[step] = step === "dhcp-acks" ? value : value - poweredOn;
      }
      const answered = answers[index];
      return { host: host.name, ...(answered ? { sshMs: answered - poweredOn } : {}), marks };
    });
    return { setup, count, results, load: [loadBefore, loadavg()[0]!] };
  } finally {
    await services?.close();
    await site.remove();
  }
}

const seconds = (ms: number | undefined) => (ms === undefined ? "-" : (ms / 1000).toFixed(1));
const slowest = (run: Run) => {
  const times = run.results.map((result) => result.sshMs);
  return times.some((ms) => ms === undefined) ? undefined : Math.max(...(times as number[]));
};
const mean = (run: Run) => {
  const times = run.results.map((result) => result.sshMs);
  return times.some((ms) => ms === undefined)
    ? undefined
    : (times as number[]).reduce((a, b) => a + b, 0) / times.length;
};

const COLUMNS: Array<[string, Step]> = [
  ["DHCP", "dhcp"],
  ["DHCP-2", "dhcp-2"],
  ["iPXE-script", "ipxe-script"],
  ["kernel-done", "kernel-done"],
  ["initrd-done", "initrd-done"],
  ["kernel", "kernel"],
  ["ignition-GET", "ignition-get"],
  ["root-start", "root-start"],
  ["root-done", "root-done"],
  ["ignition-done", "ignition-done"],
  ["switch-root", "switch-root"],
  ["sshd", "sshd"],
];

function report(run: Run): string {
  const { setup, count, results, load } = run;
  const lines = [
    `## ${setup.name}, ${count} VM(s) started together (load average ${load[0].toFixed(1)} → ${load[1].toFixed(1)})`,
    `power-on to SSH: max ${seconds(slowest(run))} s, mean ${seconds(mean(run))} s, ${
      results.filter((result) => result.sshMs !== undefined).length
    }/${results.length} answered`,
    ["VM    ", ...COLUMNS.map(([title]) => title), "  SSH", "DHCP-ACKs"].join("  "),
  ];
  for (const result of results) {
    lines.push(
      [
        result.host.padEnd(6),
        ...COLUMNS.map(([title, step]) => seconds(result.marks[step]).padStart(title.length)),
        seconds(result.sshMs).padStart(5),
        String(result.marks["dhcp-acks"] ?? "-").padStart(9),
      ].join("  "),
    );
  }
  lines.push(
    "(seconds after power-on; DHCP: first ACK (dnsmasq's log has whole seconds); *-done: last byte sent; kernel, ignition-done, switch-root, sshd: first seen on the console; DHCP-ACKs: iPXE, initramfs, booted root, renewals)",
  );
  return lines.join("\n");
}

function initReport(run: InitRunResult): string {
  const lines = [
    `## airstrap init, ${run.count} VM(s) (1 server, ${run.count - 1} agent(s)) to Ready, exit ${run.code} (load average ${run.load[0].toFixed(1)} → ${run.load[1].toFixed(1)})`,
    "VM        SSH  Ready",
    ...run.results.map(
      (result) =>
        `${result.host.padEnd(6)}  ${seconds(result.sshMs).padStart(5)}  ${seconds(result.readyMs).padStart(5)}`,
    ),
    "(seconds after the VM's power-on: its Ignition is the built-in one with the data disk, its boot runs the node units and the first-boot report; Ready: the node Ready through the kubeconfig)",
    ...run.errors.map((error) => `error: ${error}`),
  ];
  return lines.join("\n");
}

const slowestOf = (times: Array<number | undefined>) =>
  times.some((ms) => ms === undefined) ? undefined : Math.max(...(times as number[]));

function summary(runs: Run[], initRuns: InitRunResult[]): string {
  const lines = [
    "## power-on to SSH, slowest VM (mean in brackets); airstrap init: power-on to SSH and to Ready, slowest VM",
    "VMs  floor s          airstrap s       airstrap/floor  init SSH s  init Ready s  load average (1 min, start → end of each run)",
  ];
  for (const count of COUNTS) {
    const floor = runs.find((run) => run.count === count && run.setup === FLOOR);
    const airstrap = runs.find((run) => run.count === count && run.setup === AIRSTRAP);
    const cell = (run: Run | undefined) => `${seconds(run && slowest(run))} (${seconds(run && mean(run))})`.padEnd(15);
    const ratio = (a: number | undefined, b: number | undefined) =>
      a === undefined || b === undefined ? "-" : (a / b).toFixed(3);
    const loads = [floor, airstrap]
      .filter((run): run is Run => run !== undefined)
      .map((run) => `${run.setup.name} ${run.load[0].toFixed(1)} → ${run.load[1].toFixed(1)}`)
      .join(", ");
    const init = initRuns.find((run) => run.count === count);
    const initLoad = init ? `, init ${init.load[0].toFixed(1)} → ${init.load[1].toFixed(1)}` : "";
    lines.push(
      `${String(count).padStart(3)}  ${cell(floor)}  ${cell(airstrap)}  ${`${ratio(airstrap && slowest(airstrap), floor && slowest(floor))} (${ratio(airstrap && mean(airstrap), floor && mean(floor))})`.padEnd(14)}  ${seconds(init && slowestOf(init.results.map((r) => r.sshMs))).padStart(10)}  ${seconds(init && slowestOf(init.results.map((r) => r.readyMs))).padStart(12)}  ${loads}${initLoad}`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const skip = await labSkipReason();
  if (skip) throw new Error(skip);
  const image = await ensureNetbootImage({ events: silentEvents });
  const sea = buildSingleExecutable();
  // init's hosts run the simulated distro, which only the lab build carries.
  const labSea = WITH_INIT ? buildSingleExecutable("src/cli/lab-main.ts") : undefined;
  mkdirSync(KEEP, { recursive: true });
  console.log(`netboot image ${image.hash} (kernel ${image.kernelVersion}); TCG, 1 vCPU and 2 GiB per VM`);
  console.log(`consoles (stamped with seconds since power-on): ${KEEP}`);
  const runs: Run[] = [];
  const initRuns: InitRunResult[] = [];
  try {
    for (const [index, count] of COUNTS.entries()) {
      // Alternating order: neither path always boots on the machine the other just warmed (or loaded).
      const order = index % 2 === 0 ? SETUPS : [...SETUPS].reverse();
      for (const setup of order) {
        const run = await bootOnce(setup, count, image, sea.path);
        runs.push(run);
        console.log(`\n${report(run)}`);
      }
      if (labSea) {
        const run = await initToReady(count, labSea.path);
        initRuns.push(run);
        console.log(`\n${initReport(run)}`);
      }
    }
  } finally {
    sea.remove();
    labSea?.remove();
  }
  console.log(`\n${summary(runs, initRuns)}`);
}

await main();
