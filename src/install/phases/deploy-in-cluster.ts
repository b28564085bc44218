import { bufferSource } from "../../hosts/upload-source.js";
import { DISTRO_PATHS } from "../../plan/distro-paths.js";
import type { InstallContext } from "../context.js";
import { ensureFiles } from "../ensure-file.js";
import type { Phase } from "../phase.js";

export const IN_CLUSTER_FILE = "airstrap-node-agent.yaml";

/**
 * Puts the in-cluster objects (namespace, RBAC, site ConfigMap, the node agent's DaemonSet) into
 * each server's auto-deploy folder, which RKE2 and K3s apply at start and on every change, with no
 * tool and no network: the offline way they deploy their own components. Every server gets it, so
 * any one that starts deploys it.
 */
export const deployInCluster: Phase<InstallContext> = {
  title: "Place the in-cluster objects",
  hosts: (ctx) => (ctx.inClusterManifest ? ctx.plan.hosts.filter((h) => h.role === "server") : []),
  order: "parallel",
  onFailure: "host-only",
  async run(host, ctx) {
    if (!ctx.inClusterManifest) return;
    const path = `${DISTRO_PATHS[ctx.plan.distro.name].manifestsDir}/${IN_CLUSTER_FILE}`;
    await ensureFiles(ctx, host, [{ path, source: bufferSource(ctx.inClusterManifest), mode: 0o600 }]);
  },
};
