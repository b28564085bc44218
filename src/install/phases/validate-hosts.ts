import { checkFacts } from "../check-facts.js";
import type { InstallContext } from "../context.js";
import { type Phase, PhaseFailure } from "../phase.js";

/** Stops before any change when something would fail later: clones, wrong arch, full disks, taken ports. */
export const validateHosts: Phase<InstallContext> = {
  title: "Validate hosts",
  hosts: (ctx) => ctx.plan.hosts,
  order: "parallel",
  onFailure: "stop-run",
  async run(host, ctx) {
    const problems = checkFacts(ctx.plan, ctx.facts).filter((p) => p.host === host.name);
    if (problems.length > 0)
      throw new PhaseFailure(problems.map((p) => p.problem).join("; "), problems.map((p) => p.hint).join("; "));
  },
};
