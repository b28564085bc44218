import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { type AirstrapEvent, createEvents } from "../events.js";
import { DEFAULT_MAX_MANIFEST_BYTES, type RegistryConfig } from "../services/registry/config.js";
import { startRegistry } from "../services/registry/server.js";
import { colorsFor, err } from "./terminal.js";

interface ServeFlags {
  root: string;
  listen: string[];
  htpasswd?: string;
  tokenFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  insecureHttp?: boolean;
  allowPullFrom: string[];
  upstream: string[];
  peer: string[];
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerRegistry(program: Command): Command {
  const registry = program.command("registry").description("the air-gap OCI image registry");
  registry
    .command("serve")
    .description("serve the store as an OCI distribution registry until interrupted")
    .requiredOption("--root <dir>", "store root (blobs/, repositories/, uploads/)")
    .option("--listen <addr:port>", "listen address (repeat for more)", collect, [])
    .option("--htpasswd <file>", "bcrypt htpasswd file; its users may push")
    .option("--token-file <file>", "file holding a push token (Bearer, or as a Basic password)")
    .option("--tls-cert <file>", "serve HTTPS with this certificate (PEM)")
    .option("--tls-key <file>", "key of --tls-cert (PEM)")
    .option("--insecure-http", "allow plain HTTP on a non-loopback address")
    .option("--allow-pull-from <cidr>", "network whose clients may pull anonymously (repeat)", collect, [])
    .option("--upstream <url>", "pull-through upstream registry (repeat; tried in order)", collect, [])
    .option("--peer <url>", "peer registry to replicate from (repeat)", collect, [])
    .action(async (flags: ServeFlags) => {
      const events = createEvents();
      events.subscribe(printEvent);
      const service = await startRegistry(serveConfig(flags), events);
      err(`registry listening on ${service.addresses.join(", ")} (Ctrl-C stops)`);
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

function serveConfig(flags: ServeFlags): RegistryConfig {
  if (flags.listen.length === 0) throw new UsageError("say where to listen: --listen ADDR:PORT");
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw new UsageError("--tls-cert and --tls-key go together");
  }
  return {
    root: flags.root,
    listen: flags.listen,
    ...(flags.tlsCert && flags.tlsKey ? { tls: { certFile: flags.tlsCert, keyFile: flags.tlsKey } } : {}),
    allowPlainHttp: flags.insecureHttp === true,
    auth: {
      ...(flags.htpasswd ? { htpasswdFile: flags.htpasswd } : {}),
      ...(flags.tokenFile ? { tokenFile: flags.tokenFile } : {}),
      anonymousPullNetworks: flags.allowPullFrom,
    },
    upstreams: flags.upstream,
    peers: flags.peer,
    maxManifestBytes: DEFAULT_MAX_MANIFEST_BYTES,
  };
}

function printEvent(event: AirstrapEvent): void {
  if (event.level === "debug") return;
  const c = colorsFor(process.stderr);
  const paint = event.level === "error" ? c.red : event.level === "warn" ? c.yellow : c.dim;
  err(`${c.dim(event.time.slice(11, 19))} ${paint(event.level.padEnd(5))} ${event.message}`);
}
