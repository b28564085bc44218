import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { createEvents } from "../events.js";
import { parseEndpoint } from "../net/endpoint.js";
import { BOOT_HTTP_DEFAULT_PORT, BOOT_HTTP_DEFAULTS, type BootHttpConfig } from "../services/boot-http/config.js";
import { runBootHttp } from "../services/boot-http/standalone.js";
import { serveUntilSignalled } from "./common.js";
import { err } from "./terminal.js";
import { attachView } from "./views/event-views.js";

interface BootServeFlags {
  data?: string;
  assets?: string;
  listen: string[];
  allow: string[];
  allowCatchAll?: boolean;
  watch: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerBoot(program: Command): Command {
  const boot = program.command("boot").description("PXE boot services");
  boot
    .command("serve")
    .description(
      "serve a Matchbox data folder over HTTP (Matchbox's endpoints) until interrupted; reloads when the folder changes, or on SIGHUP",
    )
    .requiredOption("--data <dir>", "Matchbox data folder: groups/, profiles/, ignition/, generic/")
    .option("--assets <dir>", "serve this folder under /assets/ (default: no /assets/)")
    .option(
      "--listen <addr:port>",
      `listen here (repeat for more; default 127.0.0.1:${BOOT_HTTP_DEFAULT_PORT}, as Matchbox)`,
      collect,
      [],
    )
    .option("--allow <cidr>", "only clients in this network (repeat; default: any client)", collect, [])
    .option("--allow-catch-all", "allow groups with an empty selector (they give every unknown machine a config)")
    .option("--no-watch", "reload only on SIGHUP, not when files change")
    .action(async (flags: BootServeFlags) => {
      const events = createEvents();
      attachView("plain", events, process.stderr);
      const server = await runBootHttp(configFrom(flags), events, flags.watch ? {} : { watchIntervalMs: 0 });
      err(`boot HTTP listening on ${server.service.addresses.join(", ")} (Ctrl-C stops, SIGHUP reloads)`);
      await serveUntilSignalled(
        () => server.stop(),
        () => void server.reload(),
      );
    });
  return boot;
}

function configFrom(flags: BootServeFlags): BootHttpConfig {
  if (flags.data === undefined) throw new UsageError("--data DIR is required");
  const listen = (flags.listen.length > 0 ? flags.listen : [`127.0.0.1:${BOOT_HTTP_DEFAULT_PORT}`]).map((text) =>
    parseEndpoint(text, "--listen", { allowPortZero: true }),
  );
  return {
    ...BOOT_HTTP_DEFAULTS,
    listen,
    dataDir: flags.data,
    ...(flags.assets === undefined ? {} : { assets: { kind: "dir" as const, path: flags.assets } }),
    allowCatchAll: flags.allowCatchAll === true,
    ...(flags.allow.length > 0 ? { allowedNetworks: flags.allow } : {}),
  };
}
