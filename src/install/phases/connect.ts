import { networkInterfaces } from "node:os";
import type { InstallContext } from "../context.js";
import { hostOf } from "../host-of.js";
import { type Phase, PhaseFailure } from "../phase.js";

/** The addresses of this machine's interfaces. */
function machineAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((entry) => entry.address));
}

/**
 * Opens (and keeps) a connection to every host; first contact pins its SSH host key. The host with
 * connection: local must be this machine: its address is one of this machine's.
 */
export const connect: Phase<InstallContext> = {
  title: "Connect",
  hosts: (ctx) => ctx.plan.hosts,
  order: "parallel",
  onFailure: "stop-run",
  async run(host, ctx) {
    if (host.connection === "local" && !machineAddresses().includes(host.address))
      throw new PhaseFailure(
        `${host.name} has connection: local, but ${host.address} is not an address of this machine`,
        "run airstrap on that host, or reach it over SSH (remove connection: local)",
      );
    const result = await hostOf(ctx, host).exec("true");
    if (result.code !== 0) throw new Error(`a trivial command failed (exit ${result.code}): ${result.stderr.trim()}`);
  },
};
