import { chmod, rename, writeFile } from "node:fs/promises";
import type { Host } from "../../hosts/host.js";
import { DISTRO_PATHS } from "../../plan/distro-paths.js";
import type { Plan } from "../../plan/types.js";
import type { InstallContext } from "../context.js";
import { hostOf } from "../host-of.js";
import { rewriteKubeconfig, workstationKubeconfig, workstationKubeconfigPath } from "../kubeconfig.js";
import { type Phase, PhaseFailure } from "../phase.js";

/**
 * Reads the distro's admin kubeconfig on `host`, points it at the cluster FQDN, saves it 0600 at
 * `path`, and beside it the workstation variant (each server by address, TLS checked against the FQDN).
 */
export async function fetchKubeconfigFrom(host: Host, plan: Plan, path: string, sudo: boolean): Promise<void> {
  const remote = DISTRO_PATHS[plan.distro.name].kubeconfig;
  const text = await host.readFile(remote, { sudo });
  if (text === undefined)
    throw new PhaseFailure(
      `${remote} does not exist on ${host.name}`,
      "the primary server has not finished starting; run airstrap kubeconfig later",
    );
  const rewritten = rewriteKubeconfig(text.toString("utf8"), plan.apiUrl, plan.name);
  await writeSecretFile(path, rewritten);
  await writeSecretFile(workstationKubeconfigPath(path), workstationKubeconfig(rewritten, plan));
}

/** 0600 from its first byte, written to a temporary name and renamed: never half-written, never readable by others. */
async function writeSecretFile(path: string, content: string): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, content, { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, path);
}

export const fetchKubeconfig: Phase<InstallContext> = {
  title: "Save the kubeconfig",
  hosts: (ctx) => ctx.plan.hosts.filter((h) => h.primary),
  order: "one-at-a-time",
  onFailure: "host-only",
  async run(host, ctx) {
    if (ctx.dryRun) return;
    await fetchKubeconfigFrom(hostOf(ctx, host), ctx.plan, ctx.kubeconfigPath, host.ssh.sudo);
    ctx.events.emit({
      level: "info",
      kind: "install.kubeconfig",
      host: host.name,
      message: `kubeconfig saved to ${ctx.kubeconfigPath} (server ${ctx.plan.apiUrl}); for a workstation outside the site's DNS: ${workstationKubeconfigPath(ctx.kubeconfigPath)}`,
      detail: { path: ctx.kubeconfigPath },
    });
  },
};
