import { type StatWatcher, unwatchFile, watchFile } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Events } from "../events.js";
import { loadManifest } from "../manifest/load.js";
import { planCluster } from "../plan/plan.js";
import { type DnsConfig, dnsConfigFromPlan, type NodeServeOptions } from "../services/dns/config.js";
import { type DnsProcesses, type RunningDns, startDns } from "../services/dns/service.js";
import { type DnsFlagForm, dnsConfigFromFlags, parseRecordsFile } from "./dns-flags.js";

/**
 * The DNS server on its own (`airstrap dns`): configuration from a manifest or from flags, and a
 * watch on the files it came from, so an edited record is served within a second.
 */

export type DnsSource =
  | { kind: "manifest"; file: string; node: string; options: NodeServeOptions }
  | { kind: "flags"; flags: DnsFlagForm; recordsFile?: string };

/** How often watched files are looked at; well under the 1 s promise for new answers. */
const WATCH_INTERVAL_MS = 100;

export async function loadDnsConfig(source: DnsSource): Promise<DnsConfig> {
  if (source.kind === "manifest") {
    const { manifest } = await loadManifest(source.file);
    return dnsConfigFromPlan(planCluster(manifest), source.node, source.options);
  }
  const records =
    source.recordsFile === undefined
      ? []
      : parseRecordsFile(await readFile(source.recordsFile, "utf8"), source.recordsFile);
  return dnsConfigFromFlags(source.flags, records);
}

export function watchedFiles(source: DnsSource): string[] {
  if (source.kind === "manifest") return [source.file];
  return source.recordsFile === undefined ? [] : [source.recordsFile];
}

export interface StandaloneDns {
  service: RunningDns;
  /** Reads the source again and swaps it in (also what a changed file triggers). */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

export async function runDns(source: DnsSource, events: Events, processes: DnsProcesses = {}): Promise<StandaloneDns> {
  const service = await startDns(await loadDnsConfig(source), events, processes);
  let reloading: Promise<void> = Promise.resolve();
  const reload = () => {
    // One reload at a time; a change during a reload is picked up by the next one.
    reloading = reloading.then(async () => {
      try {
        await service.reload(await loadDnsConfig(source));
      } catch (error) {
        events.emit({
          level: "error",
          kind: "dns.reload.failed",
          service: "dns",
          message: `reload failed, still serving the previous data: ${(error as Error).message}`,
        });
      }
    });
    return reloading;
  };
  const files = watchedFiles(source);
  const watchers: StatWatcher[] = files.map((file) =>
    watchFile(file, { interval: WATCH_INTERVAL_MS, persistent: true }, (now, before) => {
      if (now.mtimeMs !== before.mtimeMs || now.size !== before.size || now.ino !== before.ino) void reload();
    }),
  );
  return {
    service,
    reload,
    async stop() {
      for (const file of files) unwatchFile(file);
      watchers.length = 0;
      await reloading;
      await service.close();
    },
  };
}
