import { join } from "node:path";
import type { Command } from "commander";
import { createEvents } from "../events.js";
import { serveSite } from "../serve/serve.js";
import type { RunningDashboard } from "../services/dashboard/service.js";
import {
  manifestOption,
  outputFormatOption,
  planFromManifestFile,
  serveUntilSignalled,
  stateDirOption,
} from "./common.js";
import { dashboardOption, serveDashboard } from "./dashboard.js";
import { err } from "./terminal.js";
import { attachView, chooseView } from "./views/event-views.js";

interface ServeFlags {
  file: string;
  stateDir?: string;
  store?: string;
  templates?: string;
  nodeBinary?: string;
  output: "text" | "json";
  /** Serve the status page while the boot services run: true on loopback, or ADDR:PORT. */
  dashboard?: string | true;
}

/** `airstrap serve`: DHCP, TFTP and the boot HTTP server for the PXE hosts, until Ctrl-C or teardown. */
export function registerServe(program: Command): Command {
  const command = program
    .command("serve")
    .description(
      "serve what PXE hosts boot from (DHCP proxy or full, TFTP, Matchbox-compatible HTTP) until interrupted or torn down",
    );
  stateDirOption(manifestOption(command))
    .option("--store <dir>", "artifact store (default: store/ in the state dir)")
    .option(
      "--templates <dir>",
      "Ignition templates replacing built-in ones (default: spec.provisioning.pxe.templates)",
    )
    .option(
      "--node-binary <file>",
      "the airstrap executable the hosts fetch (default: this one, or dist/airstrap-linux-<arch>)",
    );
  outputFormatOption(command);
  dashboardOption(command);
  return command.action(async (flags: ServeFlags) => {
    const site = await planFromManifestFile(
      flags.file,
      flags.stateDir === undefined ? {} : { stateDir: flags.stateDir },
    );
    const { plan, state, loaded } = site;
    const events = createEvents();
    const view = attachView(
      chooseView(flags.output, process.stdout) === "json" ? "json" : "plain",
      events,
      process.stdout,
    );
    let dashboard: RunningDashboard | undefined;
    try {
      // Started first, so the page sees the boot services' first answers.
      if (flags.dashboard !== undefined) dashboard = await serveDashboard(site, flags.dashboard, events);
      const serving = await serveSite({
        plan,
        state,
        manifestDir: loaded.dir,
        manifestText: loaded.text,
        storeRoot: flags.store ?? join(state.path, "store"),
        events,
        ...(flags.templates === undefined ? {} : { templates: flags.templates }),
        ...(flags.nodeBinary === undefined ? {} : { nodeBinary: flags.nodeBinary }),
      });
      if (flags.output !== "json") {
        const hosts = plan.pxe?.hosts ?? [];
        err(
          `serving ${hosts.length} PXE host${hosts.length === 1 ? "" : "s"} on ${serving.pxe.addresses.join(", ")}; power them on now:\n${hosts.map((h) => `  ${h.name.padEnd(20)} ${h.mac}  ${h.address}`).join("\n")}\nCtrl-C or airstrap teardown -f ${flags.file} stops the boot services`,
        );
      }
      await Promise.race([
        serveUntilSignalled(
          () => serving.stop(),
          () => undefined,
        ),
        serving.stopped,
      ]);
    } finally {
      await dashboard?.close();
      view.close();
    }
  });
}
