import { createHash } from "node:crypto";
import { defaultStoreDir } from "../artifacts/store-location.js";
import { OperatorError } from "../errors.js";
import { createEvents, type Events } from "../events.js";
import { ensureHostKey } from "../hosts/host-keys.js";
import { type MachineRow, MachineSteps, type PlannedMachine } from "../init/machine-steps.js";
import { powerOnPrompt } from "../init/power-on.js";
import { requireShell, runPowerOn } from "../init/power-on-command.js";
import { type InitRecord, initRecordWriter, readInitRecord } from "../init/progress-record.js";
import { sshAnswers } from "../init/ssh-answers.js";
import { type MachineToReach, waitForMachines } from "../init/wait-for-machines.js";
import { writeHostLogs } from "../install/host-logs.js";
import { workstationKubeconfigPath, workstationUsage } from "../install/kubeconfig.js";
import type { PlannedPxeHost } from "../plan/types.js";
import { type ServingSite, serveSite } from "../serve/serve.js";
import type { RunningDashboard } from "../services/dashboard/service.js";
import { type PlannedSite, planFromManifestFile } from "./common.js";
import { serveDashboard } from "./dashboard.js";
import { gitopsSummary, handOverToFlux } from "./gitops.js";
import { type InstallFlags, installSite, nodeBinaryFor, summary } from "./install.js";
import { waitUntilReady } from "./kube.js";
import { endOfRun } from "./run-log.js";
import { err, out } from "./terminal.js";
import { chooseView } from "./views/event-views.js";
import { attachMachineBoard } from "./views/machine-board.js";

export interface InitFlags extends InstallFlags {
  templates?: string;
  /** With spec.stages: the age key file for the sops-age Secret (the gitops phase). */
  ageKey?: string;
  powerOn?: string;
  timeout: string;
}

/** How long a --power-on command may take for one machine (ipmitool, a lab's power button). */
const POWER_ON_TIMEOUT_MS = 120_000;

/**
 * Seed 003's whole flow: validate → generate and serve the boot services → ask for (or run) the
 * power-on of every machine not already up → follow each machine from DHCP to SSH → the install
 * engine of `airstrap up` → every node Ready → kubeconfig → the boot services torn down. Returns
 * the exit code; Ctrl-C (SIGINT/SIGTERM) tears down and exits 130.
 */
export async function runInit(flags: InitFlags): Promise<number> {
  const timeoutSeconds = Number(flags.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new OperatorError(`--timeout ${flags.timeout}: not a number of seconds`, { hint: "e.g. --timeout 1800" });
  }
  if (flags.powerOn !== undefined) requireShell();
  const deadline = Date.now() + timeoutSeconds * 1000;
  const site = await planFromManifestFile(flags.file);
  const pxeHosts = site.plan.pxe?.hosts ?? [];
  if (pxeHosts.length === 0) {
    throw new OperatorError("nothing to boot: no host boots over PXE", {
      hint: "set spec.provisioning.pxe and give each host that boots from the network its mac (airstrap up installs hosts that have an OS)",
    });
  }
  const runId = new Date().toISOString().replace(/[:.]/g, "-");
  const events = createEvents();
  const view = attachMachineBoard(chooseView(flags.output, process.stdout), events, process.stdout);
  const logs = await writeHostLogs(events, site.state.file("logs"), runId);
  const record = initRecordWriter(site.state, runId);
  const previous = await readInitRecord(site.state);
  const steps = new MachineSteps(await plannedMachines(site, pxeHosts));
  const following = followMachines(events, steps, record);
  const controller = new AbortController();
  let serving: ServingSite | undefined;
  let dashboard: RunningDashboard | undefined;
  let ending: Promise<void> | undefined;
  const end = (outcome: InitRecord["outcome"]) => {
    ending ??= (async () => {
      await serving?.stop();
      await record.save(outcome, steps.machines());
      following.stop();
      view.close();
      await logs.close();
      if (dashboard !== undefined) {
        err(`status page stopping (airstrap dashboard -f ${flags.file} shows this run again)`);
        await dashboard.close();
      }
    })();
    return ending;
  };
  const interrupted = () => {
    process.off("SIGINT", interrupted).off("SIGTERM", interrupted);
    controller.abort();
    events.emit({
      level: "warn",
      kind: "run.end",
      message: "interrupted: stopping the boot services",
      detail: { ok: false, next: [`airstrap init -f ${flags.file} carries on where this run stopped`] },
    });
    void end("interrupted").finally(() => process.exit(130));
  };
  process.on("SIGINT", interrupted).on("SIGTERM", interrupted);
  try {
    if (flags.dashboard !== undefined) dashboard = await serveDashboard(site, flags.dashboard, events);
    if (previous && previous.outcome !== "ready") tellPrevious(events, previous);
    serving = await serveSite({
      plan: site.plan,
      state: site.state,
      manifestDir: site.loaded.dir,
      manifestText: site.loaded.text,
      storeRoot: flags.store ?? defaultStoreDir(flags.file),
      events,
      nodeBinary: nodeBinaryFor(site, flags),
      ...(flags.templates === undefined ? {} : { templates: flags.templates }),
    });
    const machines = machinesToReach(site, pxeHosts);
    const alreadyUp = await machinesUp(machines);
    for (const name of alreadyUp) following.announce(steps.set(name, "ssh", "already up before this run"));
    const prompt = powerOnPrompt(pxeHosts, {
      alreadyUp,
      bootServer: site.plan.pxe!.bootUrl,
      timeoutSeconds,
      file: flags.file,
    });
    events.emit({ level: "info", kind: "init.prompt", message: prompt, detail: { alreadyUp: [...alreadyUp] } });
    if (flags.output !== "json") err(prompt);
    if (flags.powerOn !== undefined) {
      await powerOnAll(
        flags.powerOn,
        pxeHosts.filter((h) => !alreadyUp.has(h.name)),
        events,
        (name, failure) => following.announce(steps.failByName(name, failure)),
      );
    }
    const booted = await waitForMachines({
      machines,
      steps,
      events,
      deadline,
      signal: controller.signal,
      onFailed: following.announce,
    });
    if (controller.signal.aborted) return 130;
    if (!booted.ok) {
      for (const failure of booted.failures) {
        events.emit({
          level: "error",
          kind: "init.machine.failed",
          host: failure.host,
          message: `${failure.host} did not come up: ${failure.reason}`,
          detail: failure,
        });
      }
      const message = `${booted.failures.length} machine(s) did not come up: ${booted.failures.map((f) => `${f.host} (${f.reason})`).join("; ")}`;
      endOfRun(events, false, message, [
        "fix the cause (power, cabling, the template), then run airstrap init again: machines already up are left as they are",
      ]);
      if (flags.output !== "json") err(message);
      await end("failed");
      return 1;
    }
    const report = await installSite(
      site,
      events,
      { ...flags, readyTimeout: String(Math.min(Number(flags.readyTimeout), remainingSeconds(deadline))) },
      () => view.hold(),
    );
    if (flags.output !== "json") out(summary(report, false, logs.dir));
    if (!report.ok) {
      endOfRun(events, false, "install failed", [
        "fix the cause (see the hosts' last errors) and run airstrap init again: it picks up where it stopped",
      ]);
      await end("failed");
      return 1;
    }
    return await waitAndSave(site, flags, events, deadline, end);
  } catch (error) {
    if (!controller.signal.aborted) await end("failed");
    throw error;
  } finally {
    process.off("SIGINT", interrupted).off("SIGTERM", interrupted);
  }
}

async function waitAndSave(
  site: PlannedSite,
  flags: InitFlags,
  events: Events,
  deadline: number,
  end: (outcome: InitRecord["outcome"]) => Promise<void>,
): Promise<number> {
  const failed = async (error: Error, next: string) => {
    endOfRun(events, false, error.message, [next]);
    await end("failed");
    return error;
  };
  const nodes = await waitUntilReady(site, Math.max(1, remainingSeconds(deadline)) * 1000, events).catch(
    async (error: Error) => {
      throw await failed(error, `airstrap wait -f ${flags.file} once the missing nodes are up`);
    },
  );
  const kubeconfig = site.state.file("kubeconfig");
  const usage = workstationUsage(site.plan, workstationKubeconfigPath(kubeconfig));
  let message = `${nodes.length} nodes Ready; kubeconfig: ${kubeconfig} (server ${site.plan.apiUrl})`;
  if (site.plan.gitops) {
    const stagesTimeout = String(Math.max(1, remainingSeconds(deadline)));
    const handedOver = await handOverToFlux(site, { ...flags, timeout: stagesTimeout }, events).catch(
      async (error: Error) => {
        throw await failed(error, `airstrap gitops bootstrap -f ${flags.file} once the cause is fixed`);
      },
    );
    message += `\n${gitopsSummary(handedOver)}`;
  }
  endOfRun(events, true, message, [`KUBECONFIG=${kubeconfig} kubectl get nodes`, ...usage.split("\n")]);
  await end("ready");
  if (flags.output !== "json") {
    out(message);
    out(usage);
    out("boot services stopped");
  }
  return 0;
}

/** Every change of a machine becomes an `init.machine` event (what the views draw) and is recorded in the state dir. */
function followMachines(events: Events, steps: MachineSteps, record: ReturnType<typeof initRecordWriter>) {
  const announce = (row: MachineRow | undefined) => {
    if (!row) return;
    events.emit({
      level: row.failure ? "error" : row.known ? "info" : "warn",
      kind: "init.machine",
      ...(row.name === undefined ? {} : { host: row.name }),
      message: row.known ? `${row.step}: ${describe(row)}` : `unknown machine ${row.mac}: ${row.note ?? ""}`,
      detail: { ...row },
    });
    void record.save("running", steps.machines());
  };
  const stop = events.subscribe((event) => {
    if (event.kind !== "init.machine") for (const row of steps.apply(event)) announce(row);
  });
  return { stop, announce };
}

function describe(row: { note?: string; failure?: string }): string {
  return [row.note, row.failure].filter(Boolean).join("; ") || "-";
}

function tellPrevious(events: Events, previous: InitRecord): void {
  const where = previous.machines
    .filter((m) => m.known)
    .map((m) => `${m.name}: ${m.step}${m.failure ? ` (${m.failure})` : ""}`)
    .join(", ");
  events.emit({
    level: "info",
    kind: "init.previous",
    message: `the last airstrap init (${previous.runId}) ended ${previous.outcome}: ${where}`,
    detail: { ...previous },
  });
}

async function plannedMachines(site: PlannedSite, hosts: PlannedPxeHost[]): Promise<PlannedMachine[]> {
  return Promise.all(
    hosts.map(async (host) => {
      const key = await ensureHostKey(site.state, host.name);
      const fingerprint = `SHA256:${createHash("sha256").update(key.blob).digest("base64").replace(/=+$/, "")}`;
      return { name: host.name, mac: host.mac, address: host.address, hostKeyFingerprint: fingerprint };
    }),
  );
}

function machinesToReach(site: PlannedSite, hosts: PlannedPxeHost[]): MachineToReach[] {
  return hosts.map((host) => {
    const planned = site.plan.hosts.find((h) => h.name === host.name)!;
    return { name: host.name, address: host.address, sshPort: planned.ssh.port };
  });
}

/** The machines that answer SSH already (installed by an earlier run): they are not powered on again. */
async function machinesUp(machines: MachineToReach[]): Promise<Set<string>> {
  const up = await Promise.all(
    machines.map(async (m) => ((await sshAnswers(m.address, m.sshPort, 3000)) ? m.name : "")),
  );
  return new Set(up.filter(Boolean));
}

async function powerOnAll(
  command: string,
  hosts: PlannedPxeHost[],
  events: Events,
  fail: (host: string, failure: string) => void,
) {
  await Promise.all(
    hosts.map(async (host) => {
      const result = await runPowerOn(command, host, POWER_ON_TIMEOUT_MS);
      const ok = result.code === 0;
      events.emit({
        level: ok ? "info" : "error",
        kind: "init.power-on",
        host: host.name,
        message: ok
          ? "power-on command done"
          : `power-on command failed (exit ${result.code})${result.output ? `: ${result.output}` : ""}`,
        detail: { code: result.code },
      });
      if (!ok) fail(host.name, `the power-on command failed (exit ${result.code})`);
    }),
  );
}

function remainingSeconds(deadline: number): number {
  return Math.max(0, Math.floor((deadline - Date.now()) / 1000));
}
