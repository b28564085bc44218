import { isOurContainer } from "./container.js";
import { processAlive } from "./exec.js";
import { hostAttached } from "./network.js";
import { sshBanner, sshFingerprint } from "./probe.js";
import type { LabState } from "./state.js";
import { isOurVm } from "./vm.js";

/** "off": a machine that boots from the network, powered off (a container that is not running is "stopped"). */
export type HostRunState = "running" | "stopped" | "partitioned" | "off";

export interface LabHostStatus {
  name: string;
  role: "server" | "agent";
  address: string;
  state: HostRunState;
  /** container: systemd-nspawn with the lab's root; pxe-vm: a qemu VM with no OS that boots from the network. */
  machine: "container" | "pxe-vm";
  mac?: string;
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
      const running = host.vm ? isOurVm(host.pid, host.machine) : isOurContainer(host.pid, host.machine);
      const attached = running ? await hostAttached(lab.names, host.index) : undefined;
      const off: HostRunState = host.vm ? "off" : "stopped";
      const state: HostRunState = !running ? off : attached === false ? "partitioned" : "running";
      const ssh = state === "running" ? (await sshBanner(host.address, host.sshPort, 1000)) !== undefined : false;
      return {
        name: host.name,
        role: host.role,
        address: host.address,
        state,
        machine: host.vm ? "pxe-vm" : "container",
        ...(host.pxe ? { mac: host.pxe.mac } : {}),
        ssh,
        // A VM's host key is whatever its boot gave it (Ignition): the lab does not know it.
        hostKey: host.hostKey ? sshFingerprint(host.hostKey) : "-",
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
  const header = ["HOST", "ROLE", "ADDRESS", "MACHINE", "STATE", "SSH", "HOST KEY"];
  const rows = status.hosts.map((host) => [
    host.name,
    host.role,
    host.address,
    host.mac ? `pxe-vm ${host.mac}` : host.machine,
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
