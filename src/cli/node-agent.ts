import { existsSync } from "node:fs";
import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { createEvents } from "../events.js";
import { KubeClient } from "../kube/client.js";
import { startNodeAgent } from "../node-agent/agent.js";
import { inClusterCredentials } from "../node-agent/in-cluster-credentials.js";
import { AIRSTRAP_PATHS } from "../plan/distro-paths.js";
import { IN_CLUSTER_NAMESPACE, SITE_CONFIGMAP, SITE_MANIFEST_KEY } from "../render/in-cluster/objects.js";
import { runningAsSingleExecutable } from "../single-executable.js";
import { VERSION } from "../version.js";
import { err } from "./terminal.js";
import { plainLine } from "./views/event-views.js";

interface AgentFlags {
  namespace: string;
  configmap: string;
  key: string;
  nodeName?: string;
  hostPlan: string;
  watchTimeout: string;
  backoffMax: string;
  hostExecutable: string;
}

/** `airstrap node agent`: the DaemonSet's command (see src/render/in-cluster). */
export function registerNodeAgent(node: Command): Command {
  return node
    .command("agent")
    .description(
      "in a pod: keep this node's plan file equal to the site ConfigMap (watched), and report what the node serves",
    )
    .option("--namespace <ns>", "namespace of the ConfigMap (default: the pod's, POD_NAMESPACE)", IN_CLUSTER_NAMESPACE)
    .option("--configmap <name>", "the site ConfigMap", SITE_CONFIGMAP)
    .option("--key <key>", "its key holding the cluster manifest", SITE_MANIFEST_KEY)
    .option("--node-name <name>", "this node (default: NODE_NAME, from the pod's spec.nodeName)")
    .option("--host-plan <file>", "the host's plan file, as mounted in the pod", `/host${AIRSTRAP_PATHS.plan}`)
    .option("--watch-timeout <seconds>", "how long each watch of the ConfigMap lasts before it is reopened", "300")
    .option("--backoff-max <seconds>", "longest wait between retries when the API cannot be reached", "30")
    .option(
      "--host-executable <file>",
      "the host's airstrap, as mounted in the pod: replaced by this one when this one is newer",
      `/host${AIRSTRAP_PATHS.binary}`,
    )
    .action(async (flags: AgentFlags) => {
      const nodeName = flags.nodeName ?? process.env.NODE_NAME;
      if (!nodeName) throw new UsageError("no node name", { hint: "set NODE_NAME (spec.nodeName) or --node-name" });
      const timeoutSeconds = Number(flags.watchTimeout);
      if (!(timeoutSeconds >= 1))
        throw new UsageError(`--watch-timeout ${flags.watchTimeout}: expected at least 1 second`);
      const maxMs = Number(flags.backoffMax) * 1000;
      if (!(maxMs >= 1000)) throw new UsageError(`--backoff-max ${flags.backoffMax}: expected at least 1 second`);
      const events = createEvents();
      events.subscribe((event) => {
        const line = plainLine(event, process.stderr);
        if (line) err(line);
      });
      const client = new KubeClient(await inClusterCredentials(process.env));
      const agent = startNodeAgent(
        {
          namespace: process.env.POD_NAMESPACE ?? flags.namespace,
          configMap: flags.configmap,
          key: flags.key,
          nodeName,
          hostPlanFile: flags.hostPlan,
          version: VERSION,
          watch: { timeoutSeconds, backoff: { initialMs: 500, maxMs } },
          // Only the single-file executable (what the image holds) can stand in for the host's.
          ...(runningAsSingleExecutable() && existsSync(flags.hostExecutable)
            ? { upgrade: { ownExecutable: process.execPath, hostExecutable: flags.hostExecutable, version: VERSION } }
            : {}),
        },
        client,
        events,
      );
      agent.start();
      await new Promise<void>((resolve) => {
        process.once("SIGTERM", resolve);
        process.once("SIGINT", resolve);
      });
      await agent.close();
    });
}
