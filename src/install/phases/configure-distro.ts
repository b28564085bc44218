import { bufferSource } from "../../hosts/upload-source.js";
import { AIRSTRAP_PATHS } from "../../plan/distro-paths.js";
import type { InstallContext } from "../context.js";
import { ensureFiles } from "../ensure-file.js";
import type { Phase } from "../phase.js";

/** The distro's config.yaml and registries.yaml (0600: they hold the token), and the site CA they trust. */
export const configureDistro: Phase<InstallContext> = {
  title: "Configure the distro",
  hosts: (ctx) => ctx.plan.hosts,
  order: "parallel",
  onFailure: "host-only",
  async run(host, ctx) {
    const files = (ctx.files.get(host.name) ?? []).filter((f) => f.kind === "distro-config" || f.kind === "registries");
    const wanted = files.map((f) => ({ path: f.path, content: f.content, mode: f.mode }));
    if (ctx.siteCa) wanted.push({ path: AIRSTRAP_PATHS.siteCa, content: ctx.siteCa, mode: 0o644 });
    const wrote = await ensureFiles(
      ctx,
      host,
      wanted.map((f) => ({ path: f.path, source: bufferSource(f.content), mode: f.mode })),
    );
    for (const [i, file] of wanted.entries()) {
      if (wrote[i] && ctx.facts.get(host.name)?.distroActive) {
        ctx.events.emit({
          level: "warn",
          kind: "install.config.changed",
          host: host.name,
          message: `${file.path} changed while ${ctx.plan.distro.name} runs: restart it to apply`,
        });
      }
    }
  },
};
