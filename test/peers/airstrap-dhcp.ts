import type { ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { DhcpConfig } from "../../src/services/dhcp/config.js";
import { REPO } from "../helpers/cli.js";
import type { DiscoverPlan, DiscoverResult } from "./dhcp-discover.js";
import { type PxeNetwork, waitForOutput } from "./pxe-network.js";
import { stopChild } from "./unbound.js";

const TSX = import.meta.resolve("tsx");

/** `airstrap dhcp serve --config` running inside one machine of a test's PXE network. */
export interface AirstrapDhcp {
  child: ChildProcess;
  /** Everything it printed so far (its events). */
  log(): string;
  stop(): Promise<void>;
}

export async function startAirstrapDhcp(
  network: PxeNetwork,
  machine: string,
  config: DhcpConfig,
  dir: string,
): Promise<AirstrapDhcp> {
  const file = join(dir, `airstrap-dhcp-${config.mode}.json`);
  await writeFile(file, JSON.stringify(config));
  const child = network.spawn(
    machine,
    [process.execPath, "--import", TSX, join(REPO, "src/cli/main.ts"), "dhcp", "serve", "--config", file],
    { ...process.env, NO_COLOR: "1" },
  );
  let log = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    log += chunk.toString();
  });
  child.stdout?.resume();
  await waitForOutput(child, /DHCP listening/);
  return { child, log: () => log, stop: () => stopChild(child) };
}

/** Runs the scripted DISCOVER client (test/peers/dhcp-discover.ts) inside a machine; `rounds` repeats the burst. */
export async function runDiscover(network: PxeNetwork, machine: string, plan: DiscoverPlan): Promise<DiscoverResult>;
export async function runDiscover(
  network: PxeNetwork,
  machine: string,
  plan: DiscoverPlan,
  rounds: number,
  pauseMs: number,
): Promise<DiscoverResult[]>;
export async function runDiscover(
  network: PxeNetwork,
  machine: string,
  plan: DiscoverPlan,
  rounds?: number,
  pauseMs?: number,
): Promise<DiscoverResult | DiscoverResult[]> {
  const repeat = rounds === undefined ? [] : [String(rounds), String(pauseMs ?? 200)];
  const script = join(REPO, "test/peers/dhcp-discover.ts");
  const run = await network.exec(
    machine,
    [process.execPath, "--import", TSX, script, JSON.stringify(plan), ...repeat],
    {
      timeoutMs: 120_000,
    },
  );
  if (run.code !== 0) throw new Error(`the DISCOVER client failed (${run.code}): ${run.stderr}`);
  return JSON.parse(run.stdout) as DiscoverResult | DiscoverResult[];
}
