import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import type { Events } from "../events.js";
import { createEvents } from "../events.js";
import { readLastRun } from "../install/host-logs.js";
import { registerSecret } from "../secrets.js";
import { DASHBOARD_PORT, dashboardConfig } from "../services/dashboard/config.js";
import { type RunningDashboard, startDashboard } from "../services/dashboard/service.js";
import { manifestOption, type PlannedSite, planFromManifestFile, serveUntilSignalled } from "./common.js";
import { endpointFlag } from "./dns-flags.js";
import { err } from "./terminal.js";

const LOOPBACK = `127.0.0.1:${DASHBOARD_PORT}`;

/** `airstrap dashboard`: the status page of the last run (from the state dir) until interrupted. */
export function registerDashboard(program: Command): Command {
  const command = program
    .command("dashboard")
    .description("serve the live status page of the site: hosts, boot, install timeline, the last run's summary");
  return manifestOption(command)
    .option(
      "--listen <addr:port>",
      `serve on this address (default ${LOOPBACK}, this machine only); anywhere else needs the token printed at start`,
    )
    .action(async (flags: { file: string; listen?: string }) => {
      const site = await planFromManifestFile(flags.file);
      const { runId, events: history } = await readLastRun(site.state.file("logs"));
      const dashboard = await serveDashboard(site, flags.listen ?? true, createEvents(), history);
      err(runId === undefined ? "no run logged yet: the page shows the site's hosts" : `showing run ${runId}`);
      await serveUntilSignalled(
        () => dashboard.close(),
        () => {},
      );
    });
}

/** The `--dashboard [addr:port]` flag of the verbs that run something long (up, install …). */
export function dashboardOption(command: Command): Command {
  return command.option(
    "--dashboard [addr:port]",
    `serve the live status page while this runs (default ${LOOPBACK}; another address needs the printed token)`,
  );
}

/**
 * Starts the page for `site` on loopback (`true`) or the address given, and prints its URL on
 * stderr. Anywhere but the default loopback address takes a new token: printed here once, then
 * registered as a secret, so no later event, log line or error shows it.
 */
export async function serveDashboard(
  site: PlannedSite,
  listen: string | true,
  events: Events,
  history: Parameters<typeof startDashboard>[2] = [],
): Promise<RunningDashboard> {
  const endpoint = endpointFlag(listen === true ? LOOPBACK : listen, "--listen", DASHBOARD_PORT);
  const token = listen === true ? undefined : randomBytes(24).toString("base64url");
  // The site CA (public) lets the page check the registry replicas' certificates; absent before the first install.
  const siteCa = await readFile(site.state.file("site-ca.crt"), "utf8").catch(() => undefined);
  const dashboard = await startDashboard(dashboardConfig(site.plan, endpoint, token, siteCa), events, history);
  err(`status page: ${dashboard.url}`);
  registerSecret(token);
  return dashboard;
}
