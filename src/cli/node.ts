import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { createEvents } from "../events.js";
import { AIRSTRAP_PATHS } from "../plan/distro-paths.js";
import { readPlanFile } from "../plan/plan-file.js";
import { announceServing, watchExecutable } from "../services/executable-handover.js";
import { startNodeServices, watchPlanFile } from "../services/node-services.js";
import { NODE_STATUS_PORT } from "../services/node-status/config.js";
import { runningAsSingleExecutable } from "../single-executable.js";
import { requireHost } from "./common.js";
import { endpointFlag } from "./dns-flags.js";
import { registerNodeAgent } from "./node-agent.js";
import { err } from "./terminal.js";
import { plainLine } from "./views/event-views.js";

interface NodeFlags {
  plan: string;
  node?: string;
  dnsListen: string[];
  dnsHttp?: string;
  lbAddress?: string;
  lbAdmin?: string;
  statusListen?: string;
  executable?: string;
}

export function registerNode(program: Command): Command {
  const node = program
    .command("node")
    .description(
      "run this node's DNS server and load balancer from the plan (the airstrap-node systemd unit runs this)",
    )
    .option("--plan <file>", "plan written by airstrap generate", AIRSTRAP_PATHS.plan)
    // Not commander's requiredOption: that would be asked of `node agent` too.
    .option("--node <name>", "which host of the plan this is (required)")
    .option(
      "--dns-listen <addr:port>",
      "DNS listen address (repeatable; default the node's address, plan port)",
      collect,
      [],
    )
    .option("--dns-http <addr:port>", "DNS metrics and health endpoint", "127.0.0.1:9153")
    .option("--lb-address <addr>", "load balancer listen address (default the node's address)")
    .option("--lb-admin <addr:port>", "load balancer metrics and health endpoint", "127.0.0.1:9154")
    .option(
      "--status-listen <addr:port|off>",
      `read-only /healthz and /metrics of both, for the site's networks and the bootstrap machine (default the node's address, port ${NODE_STATUS_PORT})`,
    )
    .option(
      "--executable <file>",
      "hand the sockets over to this executable when it is replaced (default: this one, when it is the single-file executable)",
    )
    .action(async (flags: NodeFlags) => {
      const events = createEvents();
      events.subscribe((event) => {
        const line = plainLine(event, process.stderr);
        if (line) err(line);
      });
      if (!flags.node) throw new UsageError("required option '--node <name>' not specified");
      const nodeName = flags.node;
      let plan = await readPlanFile(flags.plan);
      requireHost(plan, nodeName);
      const options = {
        dns: {
          ...(flags.dnsListen.length > 0
            ? { listen: flags.dnsListen.map((l) => endpointFlag(l, "--dns-listen", 53)) }
            : {}),
          ...(flags.dnsHttp ? { http: endpointFlag(flags.dnsHttp, "--dns-http", 9153) } : {}),
        },
        lb: {
          ...(flags.lbAddress ? { listenAddress: flags.lbAddress } : {}),
          ...(flags.lbAdmin ? { admin: endpointFlag(flags.lbAdmin, "--lb-admin", 9154) } : {}),
        },
        status:
          flags.statusListen === "off"
            ? (false as const)
            : flags.statusListen === undefined
              ? {}
              : { listen: endpointFlag(flags.statusListen, "--status-listen", NODE_STATUS_PORT) },
      };
      const services = await startNodeServices(plan, nodeName, options, events);
      err(`airstrap node ${nodeName}: ${services.addresses.join(", ")}`);
      // Before systemd learns of this process: a SIGHUP (or a changed plan) from then on reloads it,
      // never meets Node's default SIGHUP action (exit).
      const reload = async (why: string) => {
        try {
          const next = await readPlanFile(flags.plan);
          await services.reload(next);
          plan = next;
          events.emit({ level: "info", kind: "node.reload", message: `reloaded ${flags.plan} (${why})` });
        } catch (error) {
          events.emit({
            level: "error",
            kind: "node.reload.failed",
            message: `kept the running configuration: ${(error as Error).message}`,
          });
        }
      };
      const stopWatching = watchPlanFile(flags.plan, () => void reload("file changed"));
      process.on("SIGHUP", () => void reload("SIGHUP"));
      await announceServing();
      const executable = flags.executable ?? (runningAsSingleExecutable() ? process.execPath : undefined);
      const upgrade = executable
        ? watchExecutable({ executable, args: process.argv.slice(2), events, readyTimeoutMs: 120_000 })
        : undefined;

      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGTERM", stop);
        process.once("SIGINT", stop);
        void upgrade?.replaced.then(stop);
      });
      upgrade?.stop();
      stopWatching();
      await services.close();
      events.emit({ level: "info", kind: "node.stopped", message: "stopped" });
    });
  registerNodeAgent(node);
  return node;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
