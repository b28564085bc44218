import type { InstallContext } from "../context.js";
import { ensureCarriedFiles } from "../ensure-file.js";
import type { Phase } from "../phase.js";
import { nodeImagePath, relaySource } from "../relay-on-hosts.js";

/**
 * Puts airstrap's image into the distro's air-gap images folder on every node before the distro
 * starts: containerd imports it at start, so the pods that run it (the node agent) start even
 * when no registry answers — a registry that runs in the cluster cannot be what the cluster
 * waits for (seed 002). Files already there with this content are not sent again.
 */
export const preloadImage: Phase<InstallContext> = {
  title: "Pre-load airstrap's image",
  hosts: (ctx) => (ctx.nodeImage ? ctx.plan.hosts : []),
  order: "parallel",
  onFailure: "host-only",
  async run(host, ctx) {
    const image = ctx.nodeImage;
    if (!image) return;
    const file = {
      path: nodeImagePath(ctx.plan),
      source: image,
      mode: 0o644,
      what: `airstrap's image (${(image.size / 2 ** 20).toFixed(1)} MiB)`,
    };
    await ensureCarriedFiles(ctx, host, [file], ctx.relay && (await relaySource(ctx, ctx.relay, host)));
  },
};
