import { bufferSource } from "../../hosts/upload-source.js";
import { AIRSTRAP_PATHS } from "../../plan/distro-paths.js";
import type { InstallContext } from "../context.js";
import type { Phase } from "../phase.js";
import { hostOf } from "./host-of.js";

/** The distro's config.yaml and registries.yaml (0600: they hold the token), and the site CA they trust. */
export const configureDistro: Phase<InstallContext> = {
  title: "Configure the distro",
  hosts: (ctx) => ctx.plan.hosts,
  order: "parallel",
  onFailure: "host-only",
  async run(host, ctx) {
    const transport = hostOf(ctx, host);
    const files = (ctx.files.get(host.name) ?? []).filter((f) => f.kind === "distro-config" || f.kind === "registries");
    const uploads = files.map((f) => ({ path: f.path, content: f.content, mode: f.mode }));
    if (ctx.siteCa) uploads.push({ path: AIRSTRAP_PATHS.siteCa, content: ctx.siteCa, mode: 0o644 });
    for (const upload of uploads) {
      const result = await ctx.change(host, `write ${upload.path}`, () =>
        transport.upload(bufferSource(upload.content), upload.path, { mode: upload.mode, sudo: host.ssh.sudo }),
      );
      if (result && !result.skipped && ctx.facts.get(host.name)?.distroActive) {
        ctx.events.emit({
          level: "warn",
          kind: "install.config.changed",
          host: host.name,
          message: `${upload.path} changed while ${ctx.plan.distro.name} runs: restart it to apply`,
        });
      }
    }
  },
};
