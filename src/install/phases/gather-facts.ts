import type { InstallContext } from "../context.js";
import { factsScript, parseFacts } from "../facts.js";
import type { Phase } from "../phase.js";
import { mustRun } from "./host-of.js";

/** Reads each host as it is now; every later phase decides from these facts, not from a state file. */
export const gatherFacts: Phase<InstallContext> = {
  title: "Gather facts",
  hosts: (ctx) => ctx.plan.hosts,
  order: "parallel",
  onFailure: "stop-run",
  async run(host, ctx) {
    const sentAt = Date.now();
    const output = await mustRun(ctx, host, "reading facts", factsScript(ctx.plan.distro.name, host.role), {
      sudo: false,
    });
    const facts = parseFacts(output, sentAt, Date.now());
    ctx.facts.set(host.name, facts);
    ctx.events.emit({
      level: "info",
      kind: "install.facts",
      host: host.name,
      message: `${facts.os}, ${facts.arch}, ${(facts.diskFreeBytes / 2 ** 30).toFixed(1)} GiB free${facts.installedVersion ? `, ${ctx.plan.distro.name} ${facts.installedVersion}${facts.distroActive ? " running" : ""}` : ""}`,
    });
  },
};
