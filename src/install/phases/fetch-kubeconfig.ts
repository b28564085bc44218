import { writeFile } from "node:fs/promises";
import { DISTRO_PATHS } from "../../plan/distro-paths.js";
import type { InstallContext } from "../context.js";
import { rewriteKubeconfig } from "../kubeconfig.js";
import { type Phase, PhaseFailure } from "../phase.js";
import { hostOf } from "./host-of.js";

/** Fetches the admin kubeconfig from the primary, points it at the cluster FQDN, saves it 0600. */
export const fetchKubeconfig: Phase<InstallContext> = {
  title: "Save the kubeconfig",
  hosts: (ctx) => ctx.plan.hosts.filter((h) => h.primary),
  order: "one-at-a-time",
  onFailure: "host-only",
  async run(host, ctx) {
    if (ctx.dryRun) return;
    const path = DISTRO_PATHS[ctx.plan.distro.name].kubeconfig;
    const text = await hostOf(ctx, host).readFile(path, { sudo: host.ssh.sudo });
    if (text === undefined)
      throw new PhaseFailure(
        `${path} does not exist on ${host.name}`,
        "the primary server has not finished starting; run airstrap kubeconfig later",
      );
    const rewritten = rewriteKubeconfig(text.toString("utf8"), ctx.plan.apiUrl, ctx.plan.name);
    await writeFile(ctx.kubeconfigPath, rewritten, { mode: 0o600 });
    ctx.events.emit({
      level: "info",
      kind: "install.kubeconfig",
      host: host.name,
      message: `kubeconfig saved to ${ctx.kubeconfigPath} (server ${ctx.plan.apiUrl})`,
    });
  },
};
