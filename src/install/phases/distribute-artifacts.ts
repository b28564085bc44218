import { ARTIFACT_DIR, type InstallContext } from "../context.js";
import { ensureCarriedFiles } from "../ensure-file.js";
import type { Phase } from "../phase.js";

/**
 * Puts the distro's release files on every host that does not yet run this version, verified by
 * SHA-256 on arrival; files already there with the same content are not sent again.
 */
export const distributeArtifacts: Phase<InstallContext> = {
  title: "Distribute artifacts",
  hosts: (ctx) => ctx.plan.hosts.filter((h) => ctx.facts.get(h.name)?.installedVersion !== ctx.plan.distro.version),
  order: "parallel",
  onFailure: "host-only",
  async run(host, ctx) {
    await ensureCarriedFiles(
      ctx,
      host,
      ctx.releaseFiles.map((file) => ({
        path: `${ARTIFACT_DIR}/${file.name}`,
        source: file,
        mode: file.name === "install.sh" || /^k3s(-arm64)?$/.test(file.name) ? 0o755 : 0o644,
        what: `${file.name} (${(file.size / 2 ** 20).toFixed(1)} MiB)`,
      })),
    );
  },
};
