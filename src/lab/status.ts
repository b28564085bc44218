import { isOurContainer } from "./container.js";
import { processAlive } from "./exec.js";
import { hostAttached } from "./network.js";
import { sshBanner, sshFingerprint } from "./probe.js";
import type { LabState } from "./state.js";

export type HostRunState = "running" | "stopped" | "partitioned";

export interface LabHostStatus {
  name: string;
  role: "server" | "agent";
  address: string;
  state: HostRunState;
  ssh: boolean;
  hostKey: string;
  pid?: number;
}

export interface LabStatus {
  name: string;
  netns: string;
  bootstrapAddress: string;
  hosts: LabHostStatus[];
  helpers: Array<{ name: string; pid: number; running: boolean; url?: string }>;
}

export async function labStatus(lab: LabState): Promise<LabStatus> {
  const hosts = await Promise.all(
    lab.hosts.map(async (host): Promise<LabHostStatus> => {
      const running = isOurContainer(host.pid, host.machine);
      const attached = running ? await hostAttached(lab.names, host.index) : undefined;
      const state: HostRunState = !running ? "stopped" : attached === false ? "partitioned" : "running";
      const ssh = state === "running" ? (await sshBanner(host.address, host.sshPort, 1000)) !== undefined : false;
      return {
        name: host.name,
        role: host.role,
        address: host.address,
        state,
        ssh,
        hostKey: sshFingerprint(host.hostKey),
        ...(running ? { pid: host.pid } : {}),
      };
    }),
  );
  return {
    name: lab.name,
    netns: lab.names.netns,
    bootstrapAddress: lab.bootstrapAddress,
    hosts,
    helpers: lab.helpers.map((helper) => ({ ...helper, running: processAlive(helper.pid) })),
  };
}

/** The table `lab up` and `lab status` print. */
export function renderStatusTable(status: LabStatus): string {
  const header = ["HOST", "ROLE", "ADDRESS", "STATE", "SSH", "HOST KEY"];
  const rows = status.hosts.map((host) => [
    host.name,
    host.role,
    host.address,
    host.state,
    host.ssh ? "answers" : "-",
    host.hostKey,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join("  ")
      .trimEnd();
  const lines = [
    `lab ${status.name}: namespace ${status.netns}, this machine is ${status.bootstrapAddress} in the site`,
    line(header),
    ...rows.map(line),
  ];
  for (const helper of status.helpers) {
    lines.push(`${helper.name}: ${helper.running ? "running" : "stopped"}${helper.url ? ` at ${helper.url}` : ""}`);
  }
  return `${lines.join("\n")}\n`;
}
