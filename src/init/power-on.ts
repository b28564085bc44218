import type { PlannedPxeHost } from "../plan/types.js";

/**
 * What `airstrap init` tells the operator, and what it gives a `--power-on` command. Pure: the
 * command runs elsewhere (power-on-command.ts).
 */

/** The environment a `--power-on` command runs with, per machine (documented in docs/init.md). */
export function powerOnEnvironment(
  host: Pick<PlannedPxeHost, "name" | "mac" | "address" | "role">,
): Record<string, string> {
  return {
    AIRSTRAP_HOST: host.name,
    AIRSTRAP_MAC: host.mac,
    AIRSTRAP_MAC_DASHES: host.mac.replaceAll(":", "-"),
    AIRSTRAP_ADDRESS: host.address,
    AIRSTRAP_ROLE: host.role,
  };
}

/**
 * The prompt listing the machines to power on now, by name and MAC (those already up are listed as
 * such: a re-run does not ask to power on a machine that was installed).
 */
export function powerOnPrompt(
  hosts: Array<Pick<PlannedPxeHost, "name" | "mac" | "address">>,
  options: { alreadyUp: ReadonlySet<string>; bootServer: string; timeoutSeconds: number; file: string },
): string {
  const waiting = hosts.filter((h) => !options.alreadyUp.has(h.name));
  const width = Math.max(4, ...hosts.map((h) => h.name.length));
  const line = (h: (typeof hosts)[number]) => `  ${h.name.padEnd(width)}  ${h.mac}  ${h.address}`;
  const lines =
    waiting.length === 0
      ? ["Every machine is already up (it answers SSH): nothing to power on."]
      : [
          `Power on ${waiting.length === 1 ? "this machine" : `these ${waiting.length} machines`} now, booting from the network (PXE):`,
          ...waiting.map(line),
        ];
  const up = hosts.filter((h) => options.alreadyUp.has(h.name));
  if (up.length > 0 && waiting.length > 0) lines.push("Already up (answering SSH), left as they are:", ...up.map(line));
  lines.push(
    `The boot services answer on ${options.bootServer}; waiting up to ${options.timeoutSeconds} s for every machine.`,
    `Ctrl-C stops the boot services; airstrap init -f ${options.file} again carries on where it stopped.`,
  );
  return lines.join("\n");
}
