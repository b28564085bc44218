import { setTimeout as sleep } from "node:timers/promises";
import type { PlannedHost } from "../../plan/types.js";
import type { InstallContext } from "../context.js";
import { installCommand, nodeReadyCheck, READY_CHECK_TIMEOUT_MS, startCommand } from "../distro-commands.js";
import { hostOf, mustRun } from "../host-of.js";
import { type Phase, PhaseFailure } from "../phase.js";

/** Not yet a working node: never started, or started but never joined (an agent that reached no server). */
const notRunning = (ctx: InstallContext, host: PlannedHost) => !ctx.facts.get(host.name)?.distroReady;

/**
 * Runs the distro's install script from the carried artifacts, without starting anything. It needs
 * no other node, so it runs while the servers before it join.
 */
export const installDistro: Phase<InstallContext> = {
  title: "Install the distro",
  hosts: (ctx) =>
    ctx.plan.hosts.filter(
      (h) => notRunning(ctx, h) && ctx.facts.get(h.name)?.installedVersion !== ctx.plan.distro.version,
    ),
  order: "parallel",
  onFailure: "host-only",
  async run(host, ctx) {
    const { name: distro, version, arch } = ctx.plan.distro;
    await ctx.change(host, `install ${distro} ${version} (${host.role}) from the artifacts`, () =>
      mustRun(ctx, host, `${distro} install.sh`, installCommand(distro, host.role, arch), { timeoutMs: 10 * 60_000 }),
    );
  },
};

/** Starts the installed distro and waits until the node says it is ready. */
async function startAndWait(host: PlannedHost, ctx: InstallContext): Promise<void> {
  const { name: distro } = ctx.plan.distro;
  await ctx.change(host, `start ${distro} ${host.role}`, () =>
    mustRun(ctx, host, `starting ${distro}`, startCommand(distro, host.role)),
  );
  if (ctx.dryRun) return;
  const check = nodeReadyCheck(ctx.plan, host.role);
  const deadline = Date.now() + ctx.readyTimeoutMs;
  let nextNotice = Date.now() + WAIT_NOTICE_EVERY_MS;
  for (let attempt = 1; ; attempt++) {
    const result = await hostOf(ctx, host).exec(check, { sudo: host.ssh.sudo, timeoutMs: READY_CHECK_TIMEOUT_MS });
    if (result.code === 0) return;
    if (Date.now() > deadline) {
      throw new PhaseFailure(
        `${distro} did not become ready within ${Math.round(ctx.readyTimeoutMs / 1000)} s`,
        `look at: journalctl -u ${distro === "rke2" ? `rke2-${host.role}` : host.role === "server" ? "k3s" : "k3s-agent"} on ${host.name}`,
      );
    }
    if (Date.now() >= nextNotice) {
      nextNotice += WAIT_NOTICE_EVERY_MS;
      ctx.events.emit({
        level: "info",
        kind: "install.wait",
        host: host.name,
        message: `waiting for ${distro} to become ready`,
      });
    }
    await sleep(readyPollDelayMs(attempt));
  }
}

const WAIT_NOTICE_EVERY_MS = 20_000;

/**
 * The pause after the attempt-th failed readiness check. Short at first — a node that is ready within
 * a few seconds is seen within a quarter of a second, and servers join one after another, so each
 * wait adds to the whole run — then every 2 s, so a slow start costs one cheap check per 2 s.
 */
export function readyPollDelayMs(attempt: number): number {
  return Math.min(2000, Math.round(250 * 1.5 ** (attempt - 1)));
}

/** The primary initialises the cluster; nothing else can start before it is ready. */
export const startPrimary: Phase<InstallContext> = {
  title: "Start the primary server",
  hosts: (ctx) => ctx.plan.hosts.filter((h) => h.primary && notRunning(ctx, h)),
  order: "one-at-a-time",
  onFailure: "stop-run",
  run: startAndWait,
};

/** etcd admits one learner at a time: servers join strictly one after another. */
export const joinServers: Phase<InstallContext> = {
  title: "Join the other servers",
  hosts: (ctx) =>
    ctx.plan.joinOrder.servers.flatMap((name) => ctx.plan.hosts.filter((h) => h.name === name && notRunning(ctx, h))),
  order: "one-at-a-time",
  onFailure: "stop-phase",
  run: startAndWait,
};

/** Agents join in parallel; one failing does not hold up the others. */
export const joinAgents: Phase<InstallContext> = {
  title: "Join the agents",
  hosts: (ctx) =>
    ctx.plan.joinOrder.agents.flatMap((name) => ctx.plan.hosts.filter((h) => h.name === name && notRunning(ctx, h))),
  order: "parallel",
  onFailure: "host-only",
  run: startAndWait,
};
