import type { Command } from "commander";
import { type AirstrapEvent, createEvents } from "../events.js";
import { type RegistryServeFlags, serveConfigFromFlags } from "../services/registry/flags.js";
import { startRegistry } from "../services/registry/server.js";
import { colorsFor, err } from "./terminal.js";

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerRegistry(program: Command): Command {
  const registry = program.command("registry").description("the air-gap OCI image registry");
  registry
    .command("serve")
    .description("serve the store as an OCI distribution registry until interrupted")
    .option("-f, --file <file>", "cluster manifest: serve as the replica on --node")
    .option("--node <name>", "the host this replica runs on (manifest form)")
    .option("--root <dir>", "store root (blobs/, repositories/, uploads/)")
    .option("--listen <addr:port>", "listen address (repeat for more)", collect, [])
    .option("--state-dir <dir>", "site CA, server certificate and push token live here (created once)")
    .option("--tls-name <name>", "extra DNS name or address for the certificate (repeat)", collect, [])
    .option("--htpasswd <file>", "bcrypt htpasswd file; its users may push")
    .option("--token-file <file>", "file holding a push token (Bearer, or as a Basic password)")
    .option("--tls-cert <file>", "serve HTTPS with this certificate (PEM)")
    .option("--tls-key <file>", "key of --tls-cert (PEM)")
    .option("--insecure-http", "allow plain HTTP on a non-loopback address")
    .option("--allow-pull-from <cidr>", "network whose clients may pull anonymously (repeat)", collect, [])
    .option("--upstream <url>", "pull-through upstream registry (repeat; tried in order)", collect, [])
    .option("--peer <url>", "peer registry to replicate from (repeat)", collect, [])
    .action(async (flags: RegistryServeFlags) => {
      const events = createEvents();
      events.subscribe(printEvent);
      const setup = await serveConfigFromFlags(flags);
      const service = await startRegistry(setup.config, events);
      err(`registry listening on ${service.addresses.join(", ")} (Ctrl-C stops)`);
      if (setup.caFile) err(`clients trust the site CA ${setup.caFile}`);
      if (setup.tokenFile) err(`push with the token in ${setup.tokenFile}`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off("SIGINT", stop).off("SIGTERM", stop);
          void service.close().then(resolve);
        };
        process.on("SIGINT", stop).on("SIGTERM", stop);
      });
    });
  return registry;
}

function printEvent(event: AirstrapEvent): void {
  if (event.level === "debug") return;
  const c = colorsFor(process.stderr);
  const paint = event.level === "error" ? c.red : event.level === "warn" ? c.yellow : c.dim;
  err(`${c.dim(event.time.slice(11, 19))} ${paint(event.level.padEnd(5))} ${event.message}`);
}
