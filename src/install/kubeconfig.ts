import { parse, stringify } from "yaml";
import { OperatorError } from "../errors.js";

interface Kubeconfig {
  clusters?: Array<{ name?: string; cluster?: { server?: string } }>;
  users?: Array<{ name?: string }>;
  contexts?: Array<{ name?: string; context?: { cluster?: string; user?: string } }>;
  "current-context"?: string;
}

/**
 * The distro writes a kubeconfig for https://127.0.0.1:6443 whose entries are all named
 * "default". airstrap's points at the cluster FQDN through the node-local load balancer, so it keeps
 * working when any one server is gone, and its entries are named after the cluster.
 */
export function rewriteKubeconfig(text: string, apiUrl: string, clusterName: string): string {
  const config = parse(text) as Kubeconfig | null;
  if (!config?.clusters?.length)
    throw new OperatorError("the distro's kubeconfig has no cluster entry", {
      hint: "the server may still be starting; run airstrap kubeconfig again",
    });
  const named = (name: string | undefined) => (name === "default" ? clusterName : name);
  for (const entry of config.clusters) {
    entry.name = named(entry.name);
    entry.cluster = { ...entry.cluster, server: apiUrl };
  }
  for (const user of config.users ?? []) user.name = named(user.name);
  for (const context of config.contexts ?? []) {
    context.name = named(context.name);
    if (context.context)
      context.context = {
        ...context.context,
        cluster: named(context.context.cluster),
        user: named(context.context.user),
      };
  }
  if (config["current-context"] !== undefined) config["current-context"] = named(config["current-context"]);
  return stringify(config);
}
