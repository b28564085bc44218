import { constants } from "node:fs";
import { access } from "node:fs/promises";
import type { Command } from "commander";
import { OperatorError, UsageError } from "../errors.js";
import { type AirstrapEvent, createEvents } from "../events.js";
import { loadManifest } from "../manifest/load.js";
import { planCluster } from "../plan/plan.js";
import { type LbConfig, lbConfigFromPlan } from "../services/lb/config.js";
import { startLoadBalancer } from "../services/lb/service.js";
import { serveUntilSignalled } from "./common.js";
import { applyTuning, type LbAdHocFlags, type LbTuningFlags, lbConfigFromFlags } from "./lb-flags.js";
import { colorsFor, err } from "./terminal.js";

interface LbFlags extends LbTuningFlags {
  file?: string;
  node?: string;
  listenAddress?: string;
  listen?: string;
  backend: string[];
  check?: string;
  expectStatus?: string;
  apiCheckCert?: string;
  apiCheckKey?: string;
  apiCheckCa?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerLb(program: Command): Command {
  return program
    .command("lb")
    .description("run the node-local TCP load balancer (health-checked, TLS passed through) until interrupted")
    .option("-f, --file <file>", "cluster manifest: forward the plan's listeners (use with --node)")
    .option("--node <name>", "the host this load balancer runs on (manifest form)")
    .option("--listen-address <addr>", "manifest form: listen here instead of the node's own address")
    .option("--api-check-cert <file>", "manifest form: client certificate so the API check can GET /readyz for real")
    .option("--api-check-key <file>", "manifest form: key of --api-check-cert")
    .option("--api-check-ca <file>", "manifest form: CA that signed the API servers' certificates")
    .option("--listen <addr:port>", "ad-hoc form: listen here")
    .option("--backend <addr:port>", "ad-hoc form: a backend (repeat for more)", collect, [])
    .option("--check <kind>", 'ad-hoc form: "tcp" (default), "http:/PATH" or "https:/PATH"')
    .option("--expect-status <list>", "statuses an HTTP check accepts, e.g. 200,401 (default 200)")
    .option("--interval <duration>", "active check interval (default 1s)")
    .option("--rise <n>", "consecutive passing checks to mark a backend up (default 2)")
    .option("--fall <n>", "consecutive failures to mark a backend down (default 2)")
    .option("--connect-timeout <duration>", "per-backend connect timeout before trying the next (default 2s)")
    .option("--idle-timeout <duration>", "close connections idle this long; 0 = never (default 1h)")
    .option("--max-connections <n>", "per listener (default 10000)")
    .option("--drain-timeout <duration>", "on shutdown/reload, time open connections get to finish (default 10s)")
    .option("--no-close-on-down", "keep client connections to a backend that goes down")
    .option("--admin <addr:port>", "serve GET /healthz and /metrics here")
    .action(async (flags: LbFlags) => {
      const events = createEvents();
      events.subscribe(printEvent);
      const configure = () => configFromFlags(flags);
      const lb = await startLoadBalancer(await configure(), events);
      err(`load balancer listening on ${lb.addresses.join(", ")} (Ctrl-C stops, SIGHUP reloads)`);
      await serveUntilSignalled(
        () => lb.close(),
        () => {
          void configure()
            .then((config) => lb.reload(config))
            .catch((error: Error) => err(`reload failed, keeping the running configuration: ${error.message}`));
        },
      );
    });
}

async function configFromFlags(flags: LbFlags): Promise<LbConfig> {
  if (flags.listen !== undefined) {
    if (flags.file !== undefined || flags.node !== undefined) {
      throw new UsageError("use either -f FILE --node NAME or --listen/--backend, not both");
    }
    return lbConfigFromFlags(flags as LbAdHocFlags);
  }
  if (flags.backend.length > 0) throw new UsageError("--backend needs --listen ADDR:PORT");
  if (flags.check !== undefined || flags.expectStatus !== undefined) {
    throw new UsageError("--check and --expect-status belong to the ad-hoc form (--listen/--backend)", {
      hint: "the manifest form checks GET /readyz on the API port and GET /ping on the join port",
    });
  }
  if (flags.node === undefined) {
    throw new UsageError("say which node this is: -f cluster.yaml --node NAME", {
      hint: "or run ad hoc: airstrap lb --listen ADDR:PORT --backend ADDR:PORT ...",
    });
  }
  if ((flags.apiCheckCert === undefined) !== (flags.apiCheckKey === undefined)) {
    throw new UsageError("--api-check-cert and --api-check-key go together");
  }
  for (const [flag, file] of [
    ["--api-check-cert", flags.apiCheckCert],
    ["--api-check-key", flags.apiCheckKey],
    ["--api-check-ca", flags.apiCheckCa],
  ] as const) {
    if (file === undefined) continue;
    await access(file, constants.R_OK).catch(() => {
      throw new OperatorError(`${flag} ${file}: cannot read the file`, { hint: "give a readable PEM file" });
    });
  }
  const { manifest } = await loadManifest(flags.file ?? "cluster.yaml");
  const config = lbConfigFromPlan(planCluster(manifest), flags.node, {
    ...(flags.listenAddress === undefined ? {} : { listenAddress: flags.listenAddress }),
    ...(flags.apiCheckCert && flags.apiCheckKey
      ? {
          apiCheckClientCert: {
            certFile: flags.apiCheckCert,
            keyFile: flags.apiCheckKey,
            ...(flags.apiCheckCa ? { caFile: flags.apiCheckCa } : {}),
          },
        }
      : {}),
  });
  return applyTuning(config, flags);
}

function printEvent(event: AirstrapEvent): void {
  if (event.level === "debug") return;
  const c = colorsFor(process.stderr);
  const paint = event.level === "error" ? c.red : event.level === "warn" ? c.yellow : c.dim;
  err(`${c.dim(event.time.slice(11, 19))} ${paint(event.level.padEnd(5))} ${event.message}`);
}
