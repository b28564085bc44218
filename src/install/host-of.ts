import type { Host } from "../hosts/host.js";
import type { PlannedHost } from "../plan/types.js";
import type { PhaseContext } from "./phase.js";
import { PhaseFailure } from "./phase.js";

export function hostOf(ctx: PhaseContext, host: PlannedHost): Host {
  const transport = ctx.hosts.get(host.name);
  if (!transport) throw new Error(`no transport for host ${host.name}`);
  return transport;
}

/** Runs a command that must succeed; a non-zero exit is a PhaseFailure carrying the command's own words. */
export async function mustRun(
  ctx: PhaseContext,
  host: PlannedHost,
  what: string,
  command: string,
  options: { sudo?: boolean; timeoutMs?: number } = {},
): Promise<string> {
  const result = await hostOf(ctx, host).exec(command, {
    sudo: options.sudo ?? host.ssh.sudo,
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
  if (result.code !== 0) {
    const said = (result.stderr.trim() || result.stdout.trim()).split("\n").slice(-3).join(" / ");
    throw new PhaseFailure(
      `${what} failed (exit ${result.code})${said ? `: ${said}` : ""}`,
      `the host's own log has more: journalctl -xe on ${host.name}`,
    );
  }
  return result.stdout;
}
