import type { Command } from "commander";
import { UsageError } from "../errors.js";
import { createEvents } from "../events.js";
import { partPathFor } from "../install/fetch-on-host.js";
import { formatEndpoint, parseEndpoint } from "../net/endpoint.js";
import { parseNetwork } from "../net/ip.js";
import type { ServedFile } from "../services/files/config.js";
import { startFileServer } from "../services/files/service.js";
import { notifyReady } from "../services/systemd-notify.js";
import { err } from "./terminal.js";
import { plainLine } from "./views/event-views.js";

interface RelayFlags {
  listen: string;
  allow: string[];
  file: string[];
}

const collect = (value: string, previous: string[]) => [...previous, value];

/**
 * `airstrap relay`: what a host runs during install (a transient systemd unit) to pass the release
 * files it is downloading on to the next hosts, as the bytes land — so the bootstrap machine sends
 * each file a fixed number of times however many hosts there are (docs/install.md, Artifact fan-out).
 */
export function registerRelay(program: Command): Command {
  return program
    .command("relay")
    .description("serve files this host is still downloading to other hosts of the site (install runs this)")
    .requiredOption("--listen <addr:port>", "where to serve GET /files/<sha256>")
    .option("--allow <cidr>", "a network whose clients may fetch (repeatable; nobody else may)", collect, [])
    .option(
      "--file <sha256:size:path>",
      "a file to serve, maybe still arriving in its part file (repeatable)",
      collect,
      [],
    )
    .action(async (flags: RelayFlags) => {
      const listen = parseEndpoint(flags.listen, "--listen");
      if (flags.allow.length === 0) throw new UsageError("--allow: name at least one network that may fetch");
      for (const cidr of flags.allow)
        if (!parseNetwork(cidr)) throw new UsageError(`--allow ${cidr}: not a network (write it as 10.77.0.0/24)`);
      const files = flags.file.map(parseRelayFile);
      const events = createEvents();
      events.subscribe((event) => {
        const line = plainLine(event, process.stderr);
        if (line) err(line);
      });
      const service = await startFileServer(
        { address: listen.address, port: listen.port, files, allowedNetworks: flags.allow },
        events,
      );
      err(`relaying ${files.length} file(s) on ${formatEndpoint(listen)}`);
      notifyReady();
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off("SIGINT", stop).off("SIGTERM", stop);
          const served = /airstrap_files_bytes_served_total (\d+)/.exec(service.metrics())?.[1] ?? "0";
          const { user, system } = process.cpuUsage();
          err(`relay stopping: ${served} bytes served, ${Math.round((user + system) / 1000)} ms of CPU`);
          void service.close().then(resolve);
        };
        process.on("SIGINT", stop).on("SIGTERM", stop);
      });
    });
}

export function parseRelayFile(text: string): ServedFile {
  const match = /^([0-9a-f]{64}):(\d+):(\/.+)$/.exec(text);
  if (!match) throw new UsageError(`--file ${text}: expected SHA256:SIZE:/absolute/path`);
  const [, sha256, size, path] = match as unknown as [string, string, string, string];
  return { sha256, path, arriving: { size: Number(size), partPath: partPathFor(path, sha256) } };
}
