import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { createEvents } from "../events.js";
import { TFTP_DEFAULTS, TFTP_PORT, type TftpConfig } from "../services/tftp/config.js";
import { startTftp } from "../services/tftp/service.js";
import { endpointFlag } from "./dns-flags.js";
import { err } from "./terminal.js";
import { attachView } from "./views/event-views.js";

interface TftpServeFlags {
  root?: string;
  listen: string[];
  maxBlksize?: string;
  maxWindowsize?: string;
  timeout?: string;
  retries?: string;
  maxTransfers?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function registerTftp(program: Command): Command {
  const tftp = program.command("tftp").description("the TFTP server of PXE boot (read-only)");
  tftp
    .command("serve")
    .description("serve the files under --root over TFTP until interrupted")
    .option("--root <dir>", "the folder served, read-only (e.g. holding undionly.kpxe and ipxe.efi)")
    .option(
      "--listen <addr[:port]>",
      `listen here (repeat for more; port ${TFTP_PORT} when left out, which needs root or CAP_NET_BIND_SERVICE)`,
      collect,
      [],
    )
    .option("--max-blksize <bytes>", `largest block size granted, 8-65464 (default ${TFTP_DEFAULTS.maxBlksize})`)
    .option("--max-windowsize <blocks>", `largest window granted, 1-65535 (default ${TFTP_DEFAULTS.maxWindowsize})`)
    .option("--timeout <ms>", `wait this long for an ACK before sending again (default ${TFTP_DEFAULTS.timeoutMs})`)
    .option("--retries <n>", `give a transfer up after this many retransmissions (default ${TFTP_DEFAULTS.retries})`)
    .option("--max-transfers <n>", `transfers at once (default ${TFTP_DEFAULTS.maxTransfers})`)
    .option("--json", "print events as JSON lines")
    .action(async (flags: TftpServeFlags) => {
      const events = createEvents();
      // JSON lines are the output (stdout); plain lines are a log (stderr).
      if (flags.json) attachView("json", events, process.stdout);
      else attachView("plain", events, process.stderr);
      const service = await startTftp(configFromFlags(flags), events);
      err(`TFTP listening on ${service.addresses.join(", ")} (Ctrl-C stops)`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off("SIGINT", stop).off("SIGTERM", stop);
          void service.close().then(resolve);
        };
        process.on("SIGINT", stop).on("SIGTERM", stop);
      });
    });
  return tftp;
}

export function configFromFlags(flags: TftpServeFlags): TftpConfig {
  if (flags.root === undefined) {
    throw new UsageError("say which folder to serve: --root DIR", {
      hint: "airstrap tftp serve --root /usr/lib/ipxe --listen 10.77.0.1",
    });
  }
  if (flags.listen.length === 0) {
    throw new UsageError("say where to listen: --listen ADDR[:PORT]", {
      hint: `an address of the PXE network, e.g. --listen 10.77.0.1 (port ${TFTP_PORT}) or --listen 127.0.0.1:6969`,
    });
  }
  return {
    root: flags.root,
    listen: flags.listen.map((text) => endpointFlag(text, "--listen", TFTP_PORT)),
    maxBlksize: whole(flags.maxBlksize, "--max-blksize", 8, 65464, TFTP_DEFAULTS.maxBlksize),
    maxWindowsize: whole(flags.maxWindowsize, "--max-windowsize", 1, 65535, TFTP_DEFAULTS.maxWindowsize),
    timeoutMs: whole(flags.timeout, "--timeout", 10, 255_000, TFTP_DEFAULTS.timeoutMs),
    retries: whole(flags.retries, "--retries", 0, 100, TFTP_DEFAULTS.retries),
    maxTransfers: whole(flags.maxTransfers, "--max-transfers", 1, 100_000, TFTP_DEFAULTS.maxTransfers),
  };
}

function whole(text: string | undefined, flag: string, min: number, max: number, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new UsageError(`${flag} ${text}: expected a whole number from ${min} to ${max}`);
  }
  return value;
}
