import type { InstallContext } from "../context.js";
import { ensureCarriedFiles } from "../ensure-file.js";
import type { Phase } from "../phase.js";
import { needsReleaseFiles, relaySource, releaseFilePath } from "../relay-on-hosts.js";

/**
 * Puts the distro's release files on every host that does not yet run this version, verified by
 * SHA-256 on arrival; files already there with the same content are not sent again. Over HTTP each
 * host asks its parent in the relay tree first (its relay started in the node services phase), so
 * the bootstrap machine sends each file a fixed number of times, however many hosts there are.
 */
export const distributeArtifacts: Phase<InstallContext> = {
  title: "Distribute artifacts",
  hosts: (ctx) => ctx.plan.hosts.filter((h) => needsReleaseFiles(ctx, h)),
  order: "parallel",
  onFailure: "host-only",
  async run(host, ctx) {
    const files = ctx.releaseFiles.map((file) => ({
      path: releaseFilePath(file),
      source: file,
      mode: file.name === "install.sh" || /^k3s(-arm64)?$/.test(file.name) ? 0o755 : 0o644,
      what: `${file.name} (${(file.size / 2 ** 20).toFixed(1)} MiB)`,
    }));
    await ensureCarriedFiles(ctx, host, files, ctx.relay && (await relaySource(ctx, ctx.relay, host)));
  },
};
