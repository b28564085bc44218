import { basename, dirname } from "node:path";
import type { Command } from "commander";
import { writeHostLogs } from "../install/host-logs.js";
import { workstationKubeconfigPath, workstationUsage } from "../install/kubeconfig.js";
import { gitopsSummary, handOverToFlux } from "./gitops.js";
import { type InstallFlags, installOptions, runInstallCommand } from "./install.js";
import { waitUntilReady } from "./kube.js";
import { endOfRun } from "./run-log.js";
import { err, out } from "./terminal.js";

/**
 * validate → install over SSH → wait until every node is Ready → the kubeconfig is in the state
 * dir → with spec.stages, the hand-over to Flux (gitops bootstrap).
 */
export function registerUp(program: Command): Command {
  const command = program
    .command("up")
    .description("bring the whole cluster up: validate, install, wait until every node is Ready, save the kubeconfig");
  return installOptions(command)
    .option("--timeout <seconds>", "how long to wait for every node (and, with stages, every stage) to be Ready", "600")
    .option("--age-key <file>", "with spec.stages: the age key file for the sops-age Secret (gitops bootstrap)")
    .action(async (flags: InstallFlags & { timeout: string; ageKey?: string }) => {
      const { report, site, events, logsDir, dashboard } = await runInstallCommand(flags);
      // The wait and the run's end go to the same run log, so `airstrap dashboard` shows them later.
      const logs = await writeHostLogs(events, dirname(logsDir), basename(logsDir));
      try {
        if (!report.ok || flags.dryRun) {
          endOfRun(events, report.ok, report.ok ? "dry run: nothing was changed" : "install failed", [
            "fix the cause (see the hosts' last errors) and run airstrap up again: it picks up where it stopped",
          ]);
          process.exitCode = report.ok ? 0 : 1;
          return;
        }
        const nodes = await waitUntilReady(site, Number(flags.timeout) * 1000, events).catch((error: Error) => {
          endOfRun(events, false, error.message, [`airstrap wait -f ${flags.file} once the missing nodes are up`]);
          throw error;
        });
        const kubeconfig = site.state.file("kubeconfig");
        const usage = workstationUsage(site.plan, workstationKubeconfigPath(kubeconfig));
        let summary = `${nodes.length} nodes Ready; kubeconfig: ${kubeconfig} (server ${site.plan.apiUrl})`;
        if (site.plan.gitops) {
          const handedOver = await handOverToFlux(site, flags, events).catch((error: Error) => {
            endOfRun(events, false, error.message, [
              `airstrap gitops bootstrap -f ${flags.file} once the cause is fixed`,
            ]);
            throw error;
          });
          summary += `\n${gitopsSummary(handedOver)}`;
        }
        endOfRun(events, true, summary, [`KUBECONFIG=${kubeconfig} kubectl get nodes`, ...usage.split("\n")]);
        out(summary);
        out(usage);
      } finally {
        await logs.close();
        if (dashboard !== undefined) {
          err(`status page stopping (airstrap dashboard -f ${flags.file} shows this run again)`);
          await dashboard.close();
        }
      }
    });
}
