import type { UploadSource } from "../hosts/host.js";
import type { PlannedHost } from "../plan/types.js";
import type { CarriedFile, InstallContext } from "./context.js";
import { FileServerUnreachable, fetchOnHost } from "./fetch-on-host.js";
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
  if (await alreadyInPlace(ctx, host, path, source.sha256, mode, what)) return false;
  await ctx.change(host, `install ${what}${what === path ? "" : ` at ${path}`}`, () =>
    upload(ctx, host, path, source, mode, what),
  );
  return true;
}

/**
 * A file every node gets (release files, the airstrap executable): the host fetches it from the
 * bootstrap machine's file server when one runs and the host has curl — all hosts at once, no
 * bytes through SSH — otherwise it is uploaded over SSH. A host that cannot reach the file server
 * falls back to SSH for the rest of the run.
 */
export async function ensureCarriedFile(
  ctx: InstallContext,
  host: PlannedHost,
  path: string,
  file: CarriedFile,
  mode: number,
  what: string,
): Promise<boolean> {
  const url = ctx.filesUrl && `${ctx.filesUrl}/files/${file.sha256}`;
  if (!url || ctx.facts.get(host.name)?.hasCurl !== true || ctx.sshOnlyHosts.has(host.name))
    return ensureFile(ctx, host, path, file, mode, what);
  if (await alreadyInPlace(ctx, host, path, file.sha256, mode, what)) return false;
  try {
    await ctx.change(host, `fetch ${what} from ${ctx.filesUrl}${what === path ? "" : ` to ${path}`}`, () =>
      fetchOnHost(ctx, host, url, path, file.sha256, mode),
    );
  } catch (error) {
    if (!(error instanceof FileServerUnreachable)) throw error;
    ctx.sshOnlyHosts.add(host.name);
    ctx.events.emit({
      level: "warn",
      kind: "install.files.unreachable",
      host: host.name,
      message: `cannot fetch from the bootstrap file server (${error.message}); sending files over SSH instead`,
    });
    return ensureFile(ctx, host, path, file, mode, what);
  }
  return true;
}

async function alreadyInPlace(
  ctx: PhaseContext,
  host: PlannedHost,
  path: string,
  sha256: string,
  mode: number,
  what: string,
): Promise<boolean> {
  if (!(await hostOf(ctx, host).hasFile(path, sha256, mode, { sudo: host.ssh.sudo }))) return false;
  ctx.events.emit({
    level: "debug",
    kind: "install.unchanged",
    host: host.name,
    message: `${what} is already in place`,
  });
  return true;
}

function upload(ctx: PhaseContext, host: PlannedHost, path: string, source: UploadSource, mode: number, what: string) {
  return hostOf(ctx, host).upload(source, path, {
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
  });
}
