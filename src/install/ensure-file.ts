import type { UploadSource } from "../hosts/host.js";
import type { PlannedHost } from "../plan/types.js";
import type { CarriedFile, InstallContext } from "./context.js";
import { FileServerUnreachable, fetchOnHost } from "./fetch-on-host.js";
import { hostOf } from "./host-of.js";
import type { PhaseContext } from "./phase.js";

/** A file a phase puts on a host; `what` names it in messages (default: the path). */
export interface EnsuredFile<Source extends UploadSource = UploadSource> {
  path: string;
  source: Source;
  mode: number;
  what?: string;
}

/**
 * Puts files in place through the change door, only those not already there with this content
 * and mode, so a re-run reports nothing for files that are right. All of them are checked in one
 * round trip. Returns, for each file, whether it wrote.
 */
export async function ensureFiles(
  ctx: PhaseContext,
  host: PlannedHost,
  files: readonly EnsuredFile[],
): Promise<boolean[]> {
  const present = await inPlace(ctx, host, files);
  for (const [i, file] of files.entries()) if (!present[i]) await installOverSsh(ctx, host, file);
  return present.map((here) => !here);
}

/**
 * Files every node gets (release files, the airstrap executable): the host fetches them from the
 * bootstrap machine's file server when one runs and the host has curl — all hosts at once, no
 * bytes through SSH — otherwise they are uploaded over SSH. A host that cannot reach the file
 * server falls back to SSH for the rest of the run. Returns, for each file, whether it wrote.
 */
export async function ensureCarriedFiles(
  ctx: InstallContext,
  host: PlannedHost,
  files: readonly EnsuredFile<CarriedFile>[],
  relay?: { name: string; url: string },
): Promise<boolean[]> {
  const present = await inPlace(ctx, host, files);
  let from = relay;
  for (const [i, file] of files.entries()) {
    if (present[i]) continue;
    if ((await fetchOrUpload(ctx, host, file, from)) === "relay failed" && from) {
      // Usually a firewall between the hosts: this host's later files go straight to the bootstrap machine.
      ctx.relay?.avoid(host.name);
      ctx.events.emit({
        level: "warn",
        kind: "install.relay.unreachable",
        host: host.name,
        message: `fetching from ${from.name}'s relay failed; fetching from the bootstrap machine instead`,
      });
      from = undefined;
    }
  }
  return present.map((here) => !here);
}

/** `relay`: another host passing these files on (tried first), named for the messages; its base URL. */
async function fetchOrUpload(
  ctx: InstallContext,
  host: PlannedHost,
  file: EnsuredFile<CarriedFile>,
  relay?: { name: string; url: string },
): Promise<"relay failed" | undefined> {
  const what = file.what ?? file.path;
  const url = ctx.filesUrl && `${ctx.filesUrl}/files/${file.source.sha256}`;
  if (!url || ctx.facts.get(host.name)?.hasCurl !== true || ctx.sshOnlyHosts.has(host.name)) {
    await installOverSsh(ctx, host, file);
    return undefined;
  }
  const from = relay ? `${relay.name} (relay), else ${ctx.filesUrl}` : ctx.filesUrl;
  const relays = relay ? [`${relay.url}/files/${file.source.sha256}`] : [];
  try {
    const fetched = await ctx.change(
      host,
      `fetch ${what} from ${from}${what === file.path ? "" : ` to ${file.path}`}`,
      () => fetchOnHost(ctx, host, url, file.path, file.source.sha256, file.mode, relays),
    );
    return fetched?.relayFailed ? "relay failed" : undefined;
  } catch (error) {
    if (!(error instanceof FileServerUnreachable)) throw error;
    ctx.sshOnlyHosts.add(host.name);
    ctx.events.emit({
      level: "warn",
      kind: "install.files.unreachable",
      host: host.name,
      message: `cannot fetch from the bootstrap file server (${error.message}); sending files over SSH instead`,
    });
    await installOverSsh(ctx, host, file);
  }
}

async function installOverSsh(ctx: PhaseContext, host: PlannedHost, file: EnsuredFile): Promise<void> {
  const what = file.what ?? file.path;
  await ctx.change(host, `install ${what}${what === file.path ? "" : ` at ${file.path}`}`, () =>
    upload(ctx, host, file.path, file.source, file.mode, what),
  );
}

async function inPlace(ctx: PhaseContext, host: PlannedHost, files: readonly EnsuredFile[]): Promise<boolean[]> {
  const present = await hostOf(ctx, host).hasFiles(
    files.map((f) => ({ path: f.path, sha256: f.source.sha256, mode: f.mode })),
    { sudo: host.ssh.sudo },
  );
  for (const [i, file] of files.entries()) {
    if (!present[i]) continue;
    ctx.events.emit({
      level: "debug",
      kind: "install.unchanged",
      host: host.name,
      message: `${file.what ?? file.path} is already in place`,
    });
  }
  return present;
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
