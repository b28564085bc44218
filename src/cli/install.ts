import { readFile } from "node:fs/promises";
import { type Command, Option } from "commander";
import { defaultStoreDir } from "../artifacts/store-location.js";
import { createEvents } from "../events.js";
import { writeHostLogs } from "../install/host-logs.js";
import { type ArtifactTransfer, findNodeBinary, installCluster } from "../install/install.js";
import type { InstallReport } from "../install/runner.js";
import { ensurePushToken } from "../services/registry/push-token.js";
import { runningAsSingleExecutable } from "../single-executable.js";
import { generateToken } from "../state/state-dir.js";
import { manifestOption, outputFormatOption, type PlannedSite, planFromManifestFile } from "./common.js";
import { colorsFor, out } from "./terminal.js";
import { attachView, chooseView, redactingEvents } from "./views/event-views.js";

export interface InstallFlags {
  file: string;
  output: "text" | "json";
  dryRun?: boolean;
  concurrency: string;
  store?: string;
  nodeBinary?: string;
  readyTimeout: string;
  artifactTransfer?: string;
}

export function registerInstall(program: Command): Command {
  const command = program
    .command("install")
    .description("install the cluster over SSH: primary first, then servers one at a time, then agents in parallel");
  return installOptions(command).action(async (flags: InstallFlags) => {
    const { report } = await runInstallCommand(flags);
    process.exitCode = report.ok ? 0 : 1;
  });
}

export function installOptions(command: Command): Command {
  manifestOption(command);
  outputFormatOption(command);
  return command
    .option("--dry-run", "print every change each host would get, and make none")
    .option("--concurrency <n>", "hosts worked on at once", "16")
    .option("--store <dir>", "artifact store (default: .airstrap/store beside the manifest)")
    .option(
      "--node-binary <file>",
      "the airstrap executable to install on nodes (default: this one, or dist/airstrap-linux-<arch>)",
    )
    .option("--ready-timeout <seconds>", "how long a server or agent may take to become ready", "600")
    .addOption(
      new Option(
        "--artifact-transfer <how>",
        "http: hosts fetch release files and the executable from a file server on spec.bootstrap.address; ssh: upload to each host",
      ).choices(["http", "ssh"]),
    );
}

/** Validate, plan, install; prints the summary. Shared by `install` and `up`. */
export async function runInstallCommand(flags: InstallFlags): Promise<{ report: InstallReport; site: PlannedSite }> {
  const site = await planFromManifestFile(flags.file);
  const token = await site.state.ensureSecret("token", generateToken);
  const pushToken =
    site.plan.registry.hosts.length > 0 ? (await readFile(await ensurePushToken(site.state.path), "utf8")).trim() : "";
  const bus = createEvents();
  const events = redactingEvents(bus, () => [
    token,
    pushToken,
    process.env.AIRSTRAP_SUDO_PASSWORD ?? "",
    process.env.AIRSTRAP_SSH_PASSPHRASE ?? "",
  ]);
  const view = attachView(chooseView(flags.output, process.stdout), bus, process.stdout);
  const logs = await writeHostLogs(bus, site.state.file("logs"), new Date().toISOString().replace(/[:.]/g, "-"));
  let report: InstallReport;
  try {
    const hostArch = process.arch === "x64" ? "amd64" : process.arch;
    report = await installCluster({
      plan: site.plan,
      manifestDir: site.loaded.dir,
      state: site.state,
      storeRoot: flags.store ?? defaultStoreDir(flags.file),
      nodeBinaryPath: findNodeBinary(
        site.plan.distro.arch,
        flags.nodeBinary,
        runningAsSingleExecutable() && hostArch === site.plan.distro.arch,
      ),
      events,
      dryRun: flags.dryRun === true,
      concurrency: Math.max(1, Number(flags.concurrency) || 1),
      readyTimeoutMs: Number(flags.readyTimeout) * 1000,
      artifactTransfer:
        (flags.artifactTransfer as ArtifactTransfer | undefined) ?? (site.plan.bootstrap ? "http" : "ssh"),
    });
  } finally {
    view.close();
    await logs.close();
  }
  if (flags.output !== "json") out(summary(report, flags.dryRun === true, logs.dir));
  return { report, site };
}

function summary(report: InstallReport, dryRun: boolean, logsDir: string): string {
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
