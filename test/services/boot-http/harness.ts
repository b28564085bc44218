import { rm } from "node:fs/promises";
import type { TestContext } from "node:test";
import type { AirstrapEvent } from "../../../src/events.js";
import { createEvents } from "../../../src/events.js";
import { BOOT_HTTP_DEFAULTS, type BootHttpConfig } from "../../../src/services/boot-http/config.js";
import { type RunningBootHttp, startBootHttp } from "../../../src/services/boot-http/service.js";
import { dataFolder } from "./fixture.js";

/** A boot server on 127.0.0.1 (a free port) over a fresh data folder, closed and removed after the test. */
export interface BootServer {
  server: RunningBootHttp;
  dataDir: string;
  config: BootHttpConfig;
  url(path: string): string;
  events: AirstrapEvent[];
}

export async function bootServer(
  t: TestContext,
  files: Record<string, string | Buffer>,
  overrides: Partial<BootHttpConfig> = {},
): Promise<BootServer> {
  const dataDir = await dataFolder(files);
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const events = createEvents();
  const seen: AirstrapEvent[] = [];
  events.subscribe((event) => seen.push(event));
  const config: BootHttpConfig = {
    ...BOOT_HTTP_DEFAULTS,
    listen: [{ address: "127.0.0.1", port: 0 }],
    dataDir,
    ...overrides,
  };
  const server = await startBootHttp(config, events);
  t.after(() => server.close());
  const base = `http://${server.addresses[0]}`;
  return { server, dataDir, config, url: (path) => `${base}${path}`, events: seen };
}

export const MAC_1 = "52:54:00:00:00:01";
export const MAC_2 = "52:54:00:00:00:02";

/** Two machines, an "installed" stage for the first, an Ignition, a generic template. */
export const TWO_MACHINES: Record<string, string> = {
  "groups/node1.json": JSON.stringify({
    id: "node1",
    name: "node 1 install",
    profile: "install",
    selector: { mac: MAC_1 },
    metadata: { hostname: "node1", disk: "/dev/vda", pool: { size: 3 } },
  }),
  "groups/node1-installed.json": JSON.stringify({
    id: "node1-installed",
    profile: "installed",
    selector: { mac: MAC_1, os: "installed" },
    metadata: { hostname: "node1" },
  }),
  "groups/node2.json": JSON.stringify({ id: "node2", profile: "install", selector: { mac: MAC_2 }, metadata: {} }),
  "profiles/install.json": JSON.stringify({
    id: "install",
    boot: {
      kernel: "/assets/vmlinuz",
      initrd: ["/assets/initrd-a.img", "/assets/initrd-b.img"],
      args: ["initrd=initrd-a.img", "ignition.config.url=http://boot/ignition?mac=${mac:hexhyp}", "console=ttyS0"],
    },
    ignition_id: "install.ign",
    generic_id: "install.env",
  }),
  "profiles/installed.json": JSON.stringify({ id: "installed", boot: { kernel: "/assets/other" } }),
  "ignition/install.ign":
    '{"ignition":{"version":"3.4.0"},"passwd":{"users":[{"name":"core"}]},"storage":{"files":[{"path":"/etc/rancher/token","contents":{"source":"data:,SECRET-JOIN-TOKEN"}}]}}\n',
  "generic/install.env": "HOST={{.hostname}}\nDISK={{ .disk }}\nPOOL={{.pool.size}}\nOS={{.request.query.os}}\n",
};
