import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { parse as parseYaml } from "yaml";
import { OperatorError, UsageError } from "../errors.js";
import { createEvents } from "../events.js";
import { type DhcpConfig, parseDhcpConfig } from "../services/dhcp/config.js";
import { startDhcp } from "../services/dhcp/service.js";
import { err } from "./terminal.js";
import { attachBatchedPlainView } from "./views/event-views.js";

interface DhcpFlags {
  config?: string;
  mode?: string;
  serverAddress?: string;
  netmask: string;
  reserve: string[];
  known: string[];
  router?: string;
  dns: string[];
  domain?: string;
  lease?: string;
  tftpServer?: string;
  biosFile?: string;
  uefiFile?: string;
  ipxeScript?: string;
  httpBootUrl?: string;
  port?: string;
  clientPort?: string;
  pxePort?: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerDhcp(program: Command): Command {
  const dhcp = program.command("dhcp").description("PXE DHCP: proxyDHCP beside the site's DHCP server, or full DHCP");
  dhcp
    .command("serve")
    .description("answer the configured machines' DHCP and PXE requests until interrupted (SIGHUP reloads --config)")
    .option("--config <file>", "JSON or YAML file with the whole configuration (see docs/pxe-dhcp.md)")
    .option("--mode <mode>", "flag form: proxy (boot information only) or full (reserved addresses too)")
    .option("--server-address <addr>", "flag form: this machine's address on the PXE network")
    .option("--netmask <mask>", "flag form: netmask of the PXE network", "255.255.255.0")
    .option("--reserve <mac,hostname,addr>", "flag form: a machine and its address (repeat)", collect, [])
    .option("--known <mac>", "flag form: a further machine to boot, without an address (repeat)", collect, [])
    .option("--router <addr>", "flag form: default gateway handed out in full mode")
    .option("--dns <addr>", "flag form: DNS server handed out in full mode (repeat)", collect, [])
    .option("--domain <domain>", "flag form: domain name handed out in full mode")
    .option("--lease <seconds>", "flag form: lease time in full mode (default 3600)")
    .option("--tftp-server <addr>", "flag form: where the NBP is fetched (default: --server-address)")
    .option("--bios-file <name>", "flag form: NBP for BIOS clients (default undionly.kpxe)")
    .option("--uefi-file <name>", "flag form: NBP for UEFI clients (default ipxe.efi)")
    .option("--ipxe-script <url>", "flag form: what iPXE gets, e.g. http://10.0.0.1:8080/boot.ipxe")
    .option("--http-boot-url <url>", "flag form: EFI binary for UEFI HTTP boot clients (default: not answered)")
    .option("--port <n>", "DHCP server port (default 67)")
    .option("--client-port <n>", "DHCP client port replies go to (default 68)")
    .option("--pxe-port <n>", "PXE boot server port (default 4011)")
    .action(async (flags: DhcpFlags) => {
      const events = createEvents();
      attachBatchedPlainView(events, process.stderr);
      const service = await startDhcp(await configFrom(flags), events);
      err(`DHCP listening on ${service.addresses.join(", ")} (Ctrl-C stops${flags.config ? ", SIGHUP reloads" : ""})`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off("SIGINT", stop).off("SIGTERM", stop).off("SIGHUP", reload);
          void service.close().then(resolve);
        };
        const reload = () => {
          if (flags.config === undefined) return;
          configFrom(flags)
            .then((next) => service.reload(next))
            .catch((error: Error) =>
              events.emit({ level: "error", kind: "dhcp.reload-failed", service: "dhcp", message: error.message }),
            );
        };
        process.on("SIGINT", stop).on("SIGTERM", stop).on("SIGHUP", reload);
      });
    });
  return dhcp;
}

async function configFrom(flags: DhcpFlags): Promise<DhcpConfig> {
  const ports = portsFrom(flags);
  if (flags.config !== undefined) {
    const inert = flags.mode ?? flags.serverAddress ?? flags.ipxeScript ?? flags.reserve[0] ?? flags.known[0];
    if (inert !== undefined)
      throw new UsageError("use either --config FILE or the flag form, not both", {
        hint: "put mode, serverAddress, reservations and boot in the file (the port flags may be combined with it)",
      });
    let text: string;
    try {
      text = await readFile(flags.config, "utf8");
    } catch (error) {
      throw new OperatorError(`cannot read ${flags.config}: ${(error as Error).message}`, {
        hint: "pass the path of a JSON or YAML DHCP configuration",
      });
    }
    let document: Record<string, unknown>;
    try {
      document = parseYaml(text) as Record<string, unknown>;
    } catch (error) {
      throw new OperatorError(`${flags.config}: not JSON or YAML: ${(error as Error).message}`);
    }
    const merged =
      typeof document === "object" && document !== null
        ? { ...document, ports: { ...(document.ports as object | undefined), ...ports } }
        : document;
    return parseDhcpConfig(merged, flags.config);
  }
  if (flags.mode === undefined || flags.serverAddress === undefined || flags.ipxeScript === undefined)
    throw new UsageError("the flag form needs --mode, --server-address and --ipxe-script", {
      hint: "airstrap dhcp serve --mode full --server-address 10.0.0.1 --reserve 52:54:00:00:00:01,node-1,10.0.0.11 --ipxe-script http://10.0.0.1:8080/boot.ipxe",
    });
  const document = {
    mode: flags.mode,
    serverAddress: flags.serverAddress,
    netmask: flags.netmask,
    reservations: flags.reserve.map(reservationFrom),
    knownMacs: flags.known,
    dnsServers: flags.dns,
    ...(flags.router === undefined ? {} : { router: flags.router }),
    ...(flags.domain === undefined ? {} : { domain: flags.domain }),
    ...(flags.lease === undefined ? {} : { leaseSeconds: numberFlag(flags.lease, "--lease") }),
    boot: {
      tftpServer: flags.tftpServer ?? flags.serverAddress,
      ipxeScriptUrl: flags.ipxeScript,
      ...(flags.biosFile === undefined ? {} : { biosFile: flags.biosFile }),
      ...(flags.uefiFile === undefined ? {} : { uefiFile: flags.uefiFile }),
      ...(flags.httpBootUrl === undefined ? {} : { httpBootUrl: flags.httpBootUrl }),
    },
    ports,
  };
  return parseDhcpConfig(document, "command line");
}

function reservationFrom(text: string) {
  const [mac, hostname, address, ...rest] = text.split(",");
  if (mac === undefined || hostname === undefined || address === undefined || rest.length > 0)
    throw new UsageError(`--reserve ${text}: expected MAC,HOSTNAME,ADDRESS`, {
      hint: "--reserve 52:54:00:00:00:01,node-1,10.0.0.11",
    });
  return { mac, hostname, address };
}

function portsFrom(flags: DhcpFlags) {
  return {
    ...(flags.port === undefined ? {} : { server: numberFlag(flags.port, "--port") }),
    ...(flags.clientPort === undefined ? {} : { client: numberFlag(flags.clientPort, "--client-port") }),
    ...(flags.pxePort === undefined ? {} : { pxe: numberFlag(flags.pxePort, "--pxe-port") }),
  };
}

function numberFlag(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new UsageError(`${flag} ${text}: expected a whole number`);
  return value;
}
