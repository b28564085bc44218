import type { Command } from "commander";
import { silentEvents } from "../events.js";
import { openKnownHosts } from "../hosts/known-hosts.js";
import { knownHostsName } from "../hosts/known-hosts-format.js";
import { forgetPins, type PinnedMachine, pinnedMachines } from "../hosts/pins.js";
import { manifestOption, outputFormatOption, planFromManifestFile } from "./common.js";
import { out } from "./terminal.js";

export function registerHosts(program: Command): Command {
  const hosts = program
    .command("hosts")
    .description("the machines airstrap reaches over SSH and their pinned host keys");

  const list = hosts.command("list").description("every host and bastion with the SSH host key pinned for it");
  manifestOption(list);
  outputFormatOption(list);
  list.action(async (options: { file: string; output: "text" | "json" }) => {
    const { plan, state } = await planFromManifestFile(options.file);
    const machines = await pinnedMachines(plan, openKnownHosts(state, silentEvents));
    out(options.output === "json" ? JSON.stringify(machines, null, 2) : formatMachines(machines));
  });

  const forget = hosts
    .command("forget")
    .argument("<name>", "host name from the manifest, or a bastion's address[:port]")
    .description("drop the pinned SSH host key, so the next connection pins the key the machine presents now");
  manifestOption(forget);
  forget.action(async (name: string, options: { file: string }) => {
    const { plan, state } = await planFromManifestFile(options.file);
    const { machine, removed } = await forgetPins(plan, openKnownHosts(state, silentEvents), name);
    const where = knownHostsName(machine.address, machine.port);
    out(
      removed === 0
        ? `${machine.name} (${where}): no key was pinned`
        : `${machine.name} (${where}): forgot ${removed} pinned key${removed === 1 ? "" : "s"}; the next connection pins the key it presents`,
    );
  });
  return hosts;
}

function formatMachines(machines: PinnedMachine[]): string {
  const rows = machines.flatMap((m) => {
    const where = knownHostsName(m.address, m.port);
    const label = m.kind === "bastion" ? `${m.name} (bastion)` : m.name;
    if (m.keys.length === 0) return [[label, where, "not pinned yet", ""]];
    return m.keys.map((k) => [label, where, k.keyType, k.fingerprint]);
  });
  const table = [["NAME", "ADDRESS", "KEY", "FINGERPRINT"], ...rows];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  return table
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
