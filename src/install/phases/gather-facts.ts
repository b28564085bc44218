import type { InstallContext } from "../context.js";
import { nodeReadyCheck, READY_CHECK_TIMEOUT_MS } from "../distro-commands.js";
import { factsScript, parseFacts } from "../facts.js";
import { hostOf, mustRun } from "../host-of.js";
import type { Phase } from "../phase.js";

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
    if (facts.distroActive) {
      const check = nodeReadyCheck(ctx.plan, host.role);
      facts.distroReady =
        (await hostOf(ctx, host).exec(check, { sudo: host.ssh.sudo, timeoutMs: READY_CHECK_TIMEOUT_MS })).code === 0;
    }
    ctx.facts.set(host.name, facts);
    ctx.events.emit({
      level: "info",
      kind: "install.facts",
      host: host.name,
      message: `${facts.os}, ${facts.arch}, ${(facts.diskFreeBytes / 2 ** 30).toFixed(1)} GiB free${facts.installedVersion ? `, ${ctx.plan.distro.name} ${facts.installedVersion}${facts.distroActive ? " running" : ""}` : ""}`,
    });
  },
};
