import type { InstallContext } from "../context.js";
import { hostOf } from "../host-of.js";
import type { Phase } from "../phase.js";

/** Opens (and keeps) a connection to every host; first contact pins its SSH host key. */
export const connect: Phase<InstallContext> = {
  title: "Connect",
  hosts: (ctx) => ctx.plan.hosts,
  order: "parallel",
  onFailure: "stop-run",
  async run(host, ctx) {
    const result = await hostOf(ctx, host).exec("true");
    if (result.code !== 0) throw new Error(`a trivial command failed (exit ${result.code}): ${result.stderr.trim()}`);
  },
};
