import { parse, stringify } from "yaml";
import { OperatorError } from "../errors.js";
import { formatEndpoint } from "../net/endpoint.js";
import type { Plan } from "../plan/types.js";

interface Kubeconfig {
  clusters?: Array<{ name?: string; cluster?: { server?: string; "tls-server-name"?: string } }>;
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

/**
 * The same credentials for the operator's workstation, which usually cannot resolve the cluster
 * FQDN (it does not use the site's DNS): one cluster entry and one context per server, each reaching
 * that server's node-local load balancer by address, with `tls-server-name` set to the cluster FQDN
 * so the API server's certificate is still verified against the name it was issued for. Any context
 * reaches a healthy API server while its own node is up; switching context is the fail-over when
 * that node is down. The current context is the primary's. Input: the rewritten kubeconfig.
 */
export function workstationKubeconfig(text: string, plan: Plan): string {
  const config = parse(text) as Kubeconfig | null;
  const cluster = config?.clusters?.find((c) => c.name === plan.name) ?? config?.clusters?.[0];
  const context = config?.contexts?.find((c) => c.name === plan.name) ?? config?.contexts?.[0];
  if (!config || !cluster?.cluster || !context?.context)
    throw new OperatorError("the kubeconfig has no cluster or context entry", {
      hint: "fetch it again with airstrap kubeconfig",
    });
  const port = Number(new URL(plan.apiUrl).port);
  const servers = plan.hosts.filter((h) => h.role === "server");
  const entry = (name: string) => `${plan.name}@${name}`;
  config.clusters = servers.map((server) => ({
    name: entry(server.name),
    cluster: {
      ...cluster.cluster,
      server: `https://${formatEndpoint({ address: server.address, port })}`,
      "tls-server-name": plan.clusterFqdn,
    },
  }));
  config.contexts = servers.map((server) => ({
    name: entry(server.name),
    context: { ...context.context, cluster: entry(server.name) },
  }));
  config["current-context"] = entry(servers.find((s) => s.primary)?.name ?? servers[0]!.name);
  return stringify(config);
}

/** Where `airstrap kubeconfig` and install put the workstation variant: beside the kubeconfig. */
export const workstationKubeconfigPath = (kubeconfigPath: string) => `${kubeconfigPath}-workstation`;

/** How to use the workstation kubeconfig, for the end of `up` (and `init`). */
export function workstationUsage(plan: Plan, path: string): string {
  const contexts = plan.hosts.filter((h) => h.role === "server").map((h) => `${plan.name}@${h.name}`);
  const lines = [`outside the site's DNS: KUBECONFIG=${path} kubectl get nodes`];
  if (contexts.length > 1)
    lines.push(
      `  one context per server (TLS checked against ${plan.clusterFqdn}); when ${contexts[0]} is down: kubectl --context ${contexts[1]} …`,
    );
  return lines.join("\n");
}
