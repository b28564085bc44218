import type { Command } from "commander";
import { Option } from "commander";
import { UsageError } from "../errors.js";
import { type LoadedManifest, loadManifest } from "../manifest/load.js";
import { planCluster } from "../plan/plan.js";
import type { Plan } from "../plan/types.js";
import { readPlanState } from "../state/plan-state.js";
import { openStateDir, type StateDir, stateDirBeside } from "../state/state-dir.js";
import { err } from "./terminal.js";
import { formatDiagnostics } from "./views/diagnostics.js";

export const DEFAULT_MANIFEST = "cluster.yaml";

export function manifestOption(command: Command): Command {
  return command.option("-f, --file <file>", "cluster manifest", DEFAULT_MANIFEST);
}

/** Where the state dir is when it is not beside the manifest (e.g. a manifest mounted read-only into a container). */
export function stateDirOption(command: Command): Command {
  return command.option("--state-dir <dir>", "state dir (default: .airstrap beside the manifest)");
}

export function outputFormatOption(command: Command): Command {
  return command.addOption(new Option("--output <format>", "output format").choices(["text", "json"]).default("text"));
}

export interface PlannedSite {
  loaded: LoadedManifest;
  state: StateDir;
  plan: Plan;
}

/** Load + validate the manifest (warnings to stderr), open the state dir, derive the plan. */
export async function planFromManifestFile(file: string, options: { stateDir?: string } = {}): Promise<PlannedSite> {
  const loaded = await loadManifest(file);
  if (loaded.warnings.length > 0) err(formatDiagnostics(loaded.warnings, { file, text: loaded.text }, process.stderr));
  const state = await openStateDir(options.stateDir ?? stateDirBeside(file));
  const plan = planCluster(loaded.manifest, await readPlanState(state));
  return { loaded, state, plan };
}

export function requireHost(plan: Plan, name: string) {
  const host = plan.hosts.find((h) => h.name === name);
  if (!host)
    throw new UsageError(`no host named "${name}" in the manifest`, {
      hint: `hosts: ${plan.hosts.map((h) => h.name).join(", ")}`,
    });
  return host;
}

/** Serves until SIGINT or SIGTERM (then `stop`, awaited); SIGHUP calls `reload`. The verbs that run a service end here. */
export function serveUntilSignalled(stop: () => Promise<void>, reload: () => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const onStop = () => {
      process.off("SIGINT", onStop).off("SIGTERM", onStop).off("SIGHUP", reload);
      void stop().then(resolve);
    };
    process.on("SIGINT", onStop).on("SIGTERM", onStop).on("SIGHUP", reload);
  });
}
