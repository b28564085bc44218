import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { OperatorError } from "../errors.js";
import { createEvents, type Events } from "../events.js";
import { hostsFromPlan } from "../hosts/connect.js";
import { workstationKubeconfigPath } from "../install/kubeconfig.js";
import { fetchKubeconfigFrom } from "../install/phases/fetch-kubeconfig.js";
import { KubeClient } from "../kube/client.js";
import { credentialsFromKubeconfig } from "../kube/kubeconfig-credentials.js";
import { waitForCluster } from "../kube/wait.js";
import { formatEndpoint } from "../net/endpoint.js";
import { manifestOption, type PlannedSite, planFromManifestFile } from "./common.js";
import { sudoPasswordFromOperator } from "./sudo-prompt.js";
import { err, out } from "./terminal.js";
import { plainLine } from "./views/event-views.js";

export function registerKubeconfig(program: Command): Command {
  const command = program
    .command("kubeconfig")
    .description(
      "fetch the admin kubeconfig from the primary server into the state dir: one pointed at the cluster FQDN, and a workstation variant (each server by address, TLS checked against the FQDN)",
    );
  manifestOption(command);
  return command.action(async (flags: { file: string }) => {
    const site = await planFromManifestFile(flags.file);
    const events = createEvents();
    const hosts = hostsFromPlan(site.plan, {
      stateDir: site.state,
      events,
      baseDir: site.loaded.dir,
      sudoPassword: sudoPasswordFromOperator(),
    });
    const primary = site.plan.hosts.find((h) => h.primary)!;
    try {
      await fetchKubeconfigFrom(hosts.get(primary.name)!, site.plan, site.state.file("kubeconfig"), primary.ssh.sudo);
    } finally {
      await Promise.all([...hosts.values()].map((h) => h.close()));
    }
    out(site.state.file("kubeconfig"));
    out(workstationKubeconfigPath(site.state.file("kubeconfig")));
  });
}

export function registerWait(program: Command): Command {
  const command = program.command("wait").description("wait until the API is ready and every host is a Ready node");
  manifestOption(command);
  return command
    .option("--timeout <seconds>", "give up after this long", "600")
    .action(async (flags: { file: string; timeout: string }) => {
      const site = await planFromManifestFile(flags.file);
      const nodes = await waitUntilReady(site, Number(flags.timeout) * 1000);
      out(
        nodes.map((n) => `${n.name.padEnd(24)} Ready  ${n.roles.join(",") || "<none>"}  ${n.version ?? ""}`).join("\n"),
      );
    });
}

/** Waits through the saved kubeconfig; progress goes to stderr as plain lines. */
export async function waitUntilReady(site: PlannedSite, timeoutMs: number, events: Events = createEvents()) {
  const client = await kubeClientFor(site);
  const stopPrinting = printEventsToStderr(events);
  try {
    return await waitForCluster(client, site.plan, events, { timeoutMs });
  } finally {
    stopPrinting();
  }
}

/** Plain event lines on stderr until the returned function is called (for waits after the main view closed). */
export function printEventsToStderr(events: Events): () => void {
  return events.subscribe((event) => {
    const line = plainLine(event, process.stderr);
    if (line) err(line);
  });
}

/**
 * A client of the site's API through a kubeconfig (default the state dir's), resolving the
 * cluster FQDN through the nodes' own DNS servers.
 */
export async function kubeClientFor(site: PlannedSite, kubeconfig?: string): Promise<KubeClient> {
  const path = kubeconfig ?? site.state.file("kubeconfig");
  const text = await readFile(path, "utf8").catch(() => {
    throw new OperatorError(`no kubeconfig at ${path}`, {
      hint: "airstrap install saves it; or fetch it with airstrap kubeconfig",
    });
  });
  const siteDns = site.plan.hosts.map((h) => formatEndpoint({ address: h.address, port: site.plan.dns.port }));
  return new KubeClient(credentialsFromKubeconfig(text, path), 5000, siteDns);
}
