import type { UploadSource } from "../hosts/host.js";
import type { PlannedHost } from "../plan/types.js";
import type { PhaseContext } from "./phase.js";
import { hostOf } from "./phases/host-of.js";

/**
 * Puts a file in place through the change door only when it is not already there with this
 * content and mode, so a re-run reports nothing for files that are right. Returns whether it wrote.
 */
export async function ensureFile(
  ctx: PhaseContext,
  host: PlannedHost,
  path: string,
  source: UploadSource,
  mode: number,
  what = path,
): Promise<boolean> {
  const transport = hostOf(ctx, host);
  if (await transport.hasFile(path, source.sha256, mode, { sudo: host.ssh.sudo })) {
    ctx.events.emit({
      level: "debug",
      kind: "install.unchanged",
      host: host.name,
      message: `${what} is already in place`,
    });
    return false;
  }
  await ctx.change(host, `install ${what}${what === path ? "" : ` at ${path}`}`, () =>
    transport.upload(source, path, {
      mode,
      sudo: host.ssh.sudo,
      onProgress: (sent, total) =>
        ctx.events.emit({
          level: "debug",
          kind: "install.upload.progress",
          host: host.name,
          message: what,
          detail: { sent, total },
        }),
    }),
  );
  return true;
}
