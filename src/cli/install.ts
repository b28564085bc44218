import { type Command, Option } from "commander";
import { defaultStoreDir } from "../artifacts/store-location.js";
import { createEvents, type Events } from "../events.js";
import { ociArchitecture } from "../image/image-config.js";
import { airstrapImageFromStore, givenImageArchive } from "../image/in-store.js";
import { type ArtifactTransfer, findNodeBinary, installCluster } from "../install/install.js";
import type { InstallReport } from "../install/runner.js";
import type { RunningDashboard } from "../services/dashboard/service.js";
import { runningAsSingleExecutable } from "../single-executable.js";
import { VERSION } from "../version.js";
import { manifestOption, outputFormatOption, type PlannedSite, planFromManifestFile } from "./common.js";
import { dashboardOption, serveDashboard } from "./dashboard.js";
import { startRunLog } from "./run-log.js";
import { sudoPasswordFromOperator } from "./sudo-prompt.js";
import { colorsFor, out } from "./terminal.js";
import { attachView, chooseView } from "./views/event-views.js";

export interface InstallFlags {
  file: string;
  output: "text" | "json";
  dryRun?: boolean;
  concurrency: string;
  store?: string;
  nodeBinary?: string;
  image?: string;
  readyTimeout: string;
  artifactTransfer?: string;
  /** Serve the status page during the run: true on loopback, or ADDR:PORT. */
  dashboard?: string | true;
}

export interface InstallRun {
  report: InstallReport;
  site: PlannedSite;
  events: Events;
  /** The run's log folder in the state dir (logs/<run>/). */
  logsDir: string;
  /** The status page, still serving, when --dashboard asked for it: the caller closes it. */
  dashboard?: RunningDashboard;
}

export function registerInstall(program: Command): Command {
  const command = program
    .command("install")
    .description("install the cluster over SSH: primary first, then servers one at a time, then agents in parallel");
  return installOptions(command).action(async (flags: InstallFlags) => {
    const { report, dashboard } = await runInstallCommand(flags);
    await dashboard?.close();
    process.exitCode = report.ok ? 0 : 1;
  });
}

export function installOptions(command: Command): Command {
  manifestOption(command);
  outputFormatOption(command);
  dashboardOption(command);
  return command
    .option("--dry-run", "print every change each host would get, and make none")
    .option("--concurrency <n>", "hosts worked on at once", "16")
    .option("--store <dir>", "artifact store (default: .airstrap/store beside the manifest)")
    .option(
      "--node-binary <file>",
      "the airstrap executable to install on nodes (default: this one, or dist/airstrap-linux-<arch>)",
    )
    .option(
      "--image <file>",
      "airstrap's image (docker-archive) pre-loaded on every node (default: the store's, which bundle load put there)",
    )
    .option("--ready-timeout <seconds>", "how long a server or agent may take to become ready", "600")
    .addOption(
      new Option(
        "--artifact-transfer <how>",
        "http: hosts fetch release files and the executable from a file server on spec.bootstrap.address; ssh: upload to each host",
      ).choices(["http", "ssh"]),
    );
}

/** Validate, plan, (start the status page,) install; prints the summary. Shared by `install` and `up`. */
export async function runInstallCommand(flags: InstallFlags): Promise<InstallRun> {
  const site = await planFromManifestFile(flags.file);
  const events = createEvents();
  const view = attachView(chooseView(flags.output, process.stdout), events, process.stdout);
  const logs = await startRunLog(site, events);
  let report: InstallReport;
  let dashboard: RunningDashboard | undefined;
  try {
    if (flags.dashboard !== undefined) dashboard = await serveDashboard(site, flags.dashboard, events);
    report = await installSite(site, events, flags, () => view.hold());
  } catch (error) {
    await dashboard?.close();
    throw error;
  } finally {
    view.close();
    await logs.close();
  }
  if (flags.output !== "json") out(summary(report, flags.dryRun === true, logs.dir));
  return { report, site, events, logsDir: logs.dir, ...(dashboard === undefined ? {} : { dashboard }) };
}

/**
 * The install engine over a planned site with the flags of `install`: what `install`, `up` and
 * `init` (once its machines answer SSH) run. Events go to the caller's stream and views.
 */
export async function installSite(
  site: PlannedSite,
  events: Events,
  flags: InstallFlags,
  holdView: () => () => void,
): Promise<InstallReport> {
  const nodeBinaryPath = nodeBinaryFor(site, flags);
  const storeRoot = flags.store ?? defaultStoreDir(flags.file);
  const nodeImagePath = flags.image
    ? givenImageArchive(flags.image)
    : await airstrapImageFromStore(storeRoot, VERSION, site.plan.distro.arch, site.state.file("image"));
  return installCluster({
    plan: site.plan,
    manifestDir: site.loaded.dir,
    manifestText: site.loaded.text,
    state: site.state,
    storeRoot,
    nodeBinaryPath,
    ...(nodeImagePath ? { nodeImagePath } : {}),
    events,
    dryRun: flags.dryRun === true,
    concurrency: Math.max(1, Number(flags.concurrency) || 1),
    readyTimeoutMs: Number(flags.readyTimeout) * 1000,
    artifactTransfer:
      (flags.artifactTransfer as ArtifactTransfer | undefined) ?? (site.plan.bootstrap ? "http" : "ssh"),
    sudoPassword: sudoPasswordFromOperator(process.env, undefined, holdView),
  });
}

/** The executable nodes get: --node-binary, this one when it is the single-file executable for their arch, or dist/. */
export function nodeBinaryFor(site: PlannedSite, flags: Pick<InstallFlags, "nodeBinary">): string {
  const hostArch = ociArchitecture(process.arch);
  return findNodeBinary(
    site.plan.distro.arch,
    flags.nodeBinary,
    runningAsSingleExecutable() && hostArch === site.plan.distro.arch,
  );
}

export function summary(report: InstallReport, dryRun: boolean, logsDir: string): string {
  const c = colorsFor(process.stdout);
  if (report.ok)
    return c.green(dryRun ? "dry run: nothing was changed" : "install complete") + c.dim(` (logs: ${logsDir})`);
  const lines = [
    c.red(
      `install failed on ${new Set(report.failures.map((f) => f.host)).size} host(s)${report.stopped ? "; the run stopped early" : ""}:`,
    ),
  ];
  for (const f of report.failures)
    lines.push(`  ${c.bold(f.host)} [${f.phase}] ${f.reason}${f.hint ? c.dim(`\n      hint: ${f.hint}`) : ""}`);
  lines.push(
    c.dim(`per-host logs: ${logsDir}; fix the cause and run airstrap install again: it picks up where it stopped`),
  );
  return lines.join("\n");
}
