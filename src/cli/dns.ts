import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { type AirstrapEvent, createEvents } from "../events.js";
import { defaultDnsWorkers } from "../services/dns/config.js";
import { runDnsWorker } from "../services/dns/worker.js";
import { WORKER_VERB } from "../services/dns/worker-messages.js";
import { serveUntilSignalled } from "./common.js";
import { endpointFlag } from "./dns-flags.js";
import { type DnsSource, runDns } from "./dns-standalone.js";
import { colorsFor, err } from "./terminal.js";

interface DnsFlags {
  file?: string;
  node?: string;
  listen: string[];
  http?: string;
  domain?: string;
  nodeName?: string;
  nodeAddress: string[];
  clusterRecord?: string;
  host: string[];
  record: string[];
  records?: string;
  upstream: string[];
  allow: string[];
  ttl?: string;
  upstreamTimeout?: string;
  workers?: string;
}

const MAX_WORKERS = 64;

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerDns(program: Command): Command {
  program
    .command(WORKER_VERB, { hidden: true })
    .description("a worker process of airstrap dns (started by it, never by hand)")
    .exitOverride()
    .action(async () => {
      await runDnsWorker();
    });
  return program
    .command("dns")
    .description("run the node-local DNS server until interrupted (reloads when its files change, or on SIGHUP)")
    .option("-f, --file <file>", "cluster manifest: serve the plan as seen from --node")
    .option("--node <name>", "manifest form: the host this server runs on")
    .option(
      "--listen <addr:port>",
      "listen here, UDP and TCP (repeat for more; default: the node's address, port 53)",
      collect,
      [],
    )
    .option("--http <addr:port>", "serve GET /metrics and /healthz here")
    .option("--domain <domain>", "flag form: the cluster domain, e.g. edge.lan")
    .option("--node-name <name>", "flag form: this node's host name (its FQDN is NAME.DOMAIN)")
    .option(
      "--node-address <addr>",
      "flag form: this node's address (repeat for more; the first is the configured one)",
      collect,
      [],
    )
    .option("--cluster-record <name>", "flag form: the name that resolves to the node itself (default: cluster)")
    .option("--host <name=addr>", "flag form: another host of the cluster (repeat)", collect, [])
    .option("--record <record>", 'flag form: an extra record "NAME TYPE VALUE" (repeat)', collect, [])
    .option("--records <file>", "flag form: YAML file of extra records (records: [{name, type, value, ttl}]), watched")
    .option("--upstream <addr[:port]>", "flag form: forward other names here (repeat; none = REFUSED)", collect, [])
    .option(
      "--allow <cidr>",
      "flag form: client networks served (repeat; default: the node's /24 and loopback)",
      collect,
      [],
    )
    .option("--ttl <seconds>", "flag form: TTL of records without their own (default 60)")
    .option("--upstream-timeout <ms>", "flag form: time each upstream gets before the next is tried (default 1500)")
    .option(
      "--workers <n>",
      `processes answering UDP, this one included (default ${defaultDnsWorkers()}: the CPUs available, at most 4)`,
    )
    .action(async (flags: DnsFlags) => {
      const events = createEvents();
      events.subscribe(printEvent);
      const workers = workersFrom(flags.workers);
      const dns = await runDns(sourceFrom(flags), events, { workers });
      err(`DNS listening on ${dns.service.addresses.join(", ")} (Ctrl-C stops, SIGHUP reloads)`);
      await serveUntilSignalled(
        () => dns.stop(),
        () => void dns.reload(),
      );
    });
}

function workersFrom(text: string | undefined): number {
  if (text === undefined) return defaultDnsWorkers();
  const workers = Number(text);
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) {
    throw new UsageError(`--workers ${text}: expected a whole number from 1 to ${MAX_WORKERS}`, {
      hint: "--workers 1 runs a single process (the least memory); more use more CPUs under load",
    });
  }
  return workers;
}

function sourceFrom(flags: DnsFlags): DnsSource {
  const flagForm = flags.domain !== undefined || flags.nodeName !== undefined || flags.nodeAddress.length > 0;
  if (flagForm) {
    if (flags.file !== undefined || flags.node !== undefined) {
      throw new UsageError(
        "use either -f FILE --node NAME or the flag form (--domain, --node-name, --node-address), not both",
      );
    }
    if (flags.domain === undefined || flags.nodeName === undefined) {
      throw new UsageError("the flag form needs --domain, --node-name and --node-address", {
        hint: "airstrap dns --domain edge.lan --node-name k8s-server-01 --node-address 10.77.0.11 --listen 127.0.0.1:5353",
      });
    }
    return {
      kind: "flags",
      flags: { ...flags, domain: flags.domain, nodeName: flags.nodeName },
      ...(flags.records === undefined ? {} : { recordsFile: flags.records }),
    };
  }
  const inert = [flags.host, flags.record, flags.upstream, flags.allow].some((list) => list.length > 0);
  if (inert || flags.records !== undefined || flags.clusterRecord !== undefined) {
    throw new UsageError(
      "--host, --record, --records, --upstream, --allow and --cluster-record belong to the flag form",
      {
        hint: "with a manifest, put them in spec.dns of cluster.yaml",
      },
    );
  }
  if (flags.node === undefined) {
    throw new UsageError("say which node this is: -f cluster.yaml --node NAME", {
      hint: "or without a manifest: airstrap dns --domain edge.lan --node-name NAME --node-address ADDR",
    });
  }
  return {
    kind: "manifest",
    file: flags.file ?? "cluster.yaml",
    node: flags.node,
    options: {
      ...(flags.listen.length > 0 ? { listen: flags.listen.map((text) => endpointFlag(text, "--listen", 53)) } : {}),
      ...(flags.http ? { http: endpointFlag(flags.http, "--http", 9153) } : {}),
    },
  };
}

function printEvent(event: AirstrapEvent): void {
  if (event.level === "debug") return;
  const c = colorsFor(process.stderr);
  const paint = event.level === "error" ? c.red : event.level === "warn" ? c.yellow : c.dim;
  err(`${c.dim(event.time.slice(11, 19))} ${paint(event.level.padEnd(5))} ${event.message}`);
}
