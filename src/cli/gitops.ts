import type { Command } from "commander";
import { defaultStoreDir } from "../artifacts/store-location.js";
import { OperatorError, UsageError } from "../errors.js";
import { createEvents, type Events } from "../events.js";
import { type GitopsBootstrapResult, runGitopsBootstrap } from "../gitops/bootstrap.js";
import type { RunningDashboard } from "../services/dashboard/service.js";
import { openBlobStore } from "../store/blob-store.js";
import { manifestOption, outputFormatOption, type PlannedSite, planFromManifestFile } from "./common.js";
import { dashboardOption, serveDashboard } from "./dashboard.js";
import { kubeClientFor, printEventsToStderr } from "./kube.js";
import { endOfRun, startRunLog } from "./run-log.js";
import { err, out } from "./terminal.js";
import { attachView, chooseView } from "./views/event-views.js";

export interface GitopsFlags {
  file: string;
  store?: string;
  kubeconfig?: string;
  ageKey?: string;
  registry?: string;
  git: string;
  timeout: string;
  output: "text" | "json";
  dashboard?: string | true;
}

/** `airstrap gitops bootstrap`: the stages handed over to Flux (docs/gitops.md). */
export function registerGitops(program: Command): Command {
  const gitops = program.command("gitops").description("hand the site's stages over to Flux");
  const bootstrap = gitops
    .command("bootstrap")
    .description(
      "push the stage folders to the git server, install the carried Flux with the sops-age key, one Kustomization per stage, and wait for each stage to be Ready in order",
    );
  manifestOption(bootstrap);
  outputFormatOption(bootstrap);
  dashboardOption(bootstrap);
  return bootstrap
    .option("--store <dir>", "artifact store holding Flux (default: .airstrap/store beside the manifest)")
    .option("--kubeconfig <file>", "the cluster's kubeconfig (default: .airstrap/kubeconfig)")
    .option(
      "--age-key <file>",
      "age key file for the sops-age Secret (default: SOPS_AGE_KEY_FILE, ~/.config/sops/age/keys.txt)",
    )
    .option(
      "--registry <host:port>",
      "the registry Flux's images are rewritten to (default: the first registry replica)",
    )
    .option("--git <path>", "the git binary that pushes", "git")
    .option("--timeout <seconds>", "how long to wait for all stages to be Ready", "600")
    .action(async (flags: GitopsFlags) => {
      const site = await planFromManifestFile(flags.file);
      const events = createEvents();
      const view = attachView(chooseView(flags.output, process.stdout), events, process.stdout);
      // Its own run in the state dir's logs, as an install's: `airstrap dashboard` shows it afterwards.
      const logs = await startRunLog(site, events);
      let dashboard: RunningDashboard | undefined;
      let viewOpen = true;
      const closeView = () => {
        if (viewOpen) view.close();
        viewOpen = false;
      };
      // The run's end goes to the log and the page; the terminal has the summary or the error already.
      const end = (ok: boolean, message: string, next: string[]) => {
        closeView();
        endOfRun(events, ok, message, next);
      };
      try {
        if (flags.dashboard !== undefined) dashboard = await serveDashboard(site, flags.dashboard, events);
        const result = await gitopsBootstrapForSite(site, flags, events).catch((error: Error) => {
          end(false, error.message, error instanceof OperatorError && error.hint ? [error.hint] : []);
          throw error;
        });
        // One line for the page's run line; the stage rows and the push line hold the rest.
        end(true, `${result.stages.length} stages Ready at ${result.commit.slice(0, 12)}`, [
          `KUBECONFIG=${flags.kubeconfig ?? site.state.file("kubeconfig")} kubectl -n flux-system get kustomizations`,
        ]);
        if (flags.output !== "json") out(gitopsSummary(result));
      } finally {
        closeView();
        await logs.close();
        if (dashboard) {
          err(`status page stopping (airstrap dashboard -f ${flags.file} shows this run again)`);
          await dashboard.close();
        }
      }
    });
}

/** The bootstrap for a planned site with the flags' settings: shared by `gitops bootstrap` and `up`. */
export async function gitopsBootstrapForSite(
  site: PlannedSite,
  flags: Pick<GitopsFlags, "file" | "store" | "kubeconfig" | "ageKey" | "registry" | "git" | "timeout">,
  events: Events,
): Promise<GitopsBootstrapResult> {
  const timeout = Number(flags.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0) throw new UsageError(`--timeout ${flags.timeout}: expected seconds`);
  return runGitopsBootstrap(
    {
      plan: site.plan,
      siteDir: site.loaded.dir,
      state: site.state,
      store: await openBlobStore(flags.store ?? defaultStoreDir(flags.file)),
      kube: await kubeClientFor(site, flags.kubeconfig),
      ...(flags.ageKey === undefined ? {} : { ageKeyFile: flags.ageKey }),
      ...(flags.registry === undefined ? {} : { registryHost: flags.registry }),
      git: flags.git,
      timeoutMs: timeout * 1000,
    },
    events,
  );
}

/**
 * The hand-over as the last phase of `up` and `init` (with spec.stages): the phase's lines go to
 * stderr, as the node wait's do; the stage wait gets the same --timeout as the node wait.
 */
export async function handOverToFlux(
  site: PlannedSite,
  flags: Pick<GitopsFlags, "file" | "store" | "ageKey" | "timeout">,
  events: Events,
): Promise<GitopsBootstrapResult> {
  const stopPrinting = printEventsToStderr(events);
  try {
    return await gitopsBootstrapForSite(
      site,
      {
        file: flags.file,
        timeout: flags.timeout,
        git: "git",
        ...(flags.store === undefined ? {} : { store: flags.store }),
        ...(flags.ageKey === undefined ? {} : { ageKey: flags.ageKey }),
      },
      events,
    );
  } finally {
    stopPrinting();
  }
}

export function gitopsSummary(result: GitopsBootstrapResult): string {
  const changed = result.applied.filter((a) => a.outcome !== "unchanged").length;
  return [
    `${result.stages.length} stages Ready: ${result.stages.map((s) => `${s.stage} (${s.revision || "no revision"})`).join(", ")}`,
    `${result.pushed ? `pushed ${result.commit.slice(0, 12)}` : "nothing to push"}; ${changed} of ${result.applied.length} objects created or changed`,
    `git server webhook: ${result.webhookUrl}`,
  ].join("\n");
}
