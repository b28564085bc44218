import type { Command } from "commander";
import { workstationKubeconfigPath, workstationUsage } from "../install/kubeconfig.js";
import { type InstallFlags, installOptions, runInstallCommand } from "./install.js";
import { waitUntilReady } from "./kube.js";
import { out } from "./terminal.js";

/** validate → install over SSH → wait until every node is Ready → the kubeconfig is in the state dir. */
export function registerUp(program: Command): Command {
  const command = program
    .command("up")
    .description("bring the whole cluster up: validate, install, wait until every node is Ready, save the kubeconfig");
  return installOptions(command)
    .option("--timeout <seconds>", "how long to wait for every node to be Ready after the install", "600")
    .action(async (flags: InstallFlags & { timeout: string }) => {
      const { report, site } = await runInstallCommand(flags);
      if (!report.ok || flags.dryRun) {
        process.exitCode = report.ok ? 0 : 1;
        return;
      }
      const nodes = await waitUntilReady(site, Number(flags.timeout) * 1000);
      const kubeconfig = site.state.file("kubeconfig");
      out(`${nodes.length} nodes Ready; kubeconfig: ${kubeconfig} (server ${site.plan.apiUrl})`);
      out(workstationUsage(site.plan, workstationKubeconfigPath(kubeconfig)));
    });
}
