import { createHash } from "node:crypto";
import { OperatorError } from "../errors.js";
import type { UploadOptions, UploadResult, UploadSource } from "./host.js";
import { modeText, remoteBasename, remoteDirname, sha256Command, shellQuote } from "./shell.js";
import type { CapturedRun } from "./sudo.js";
import type { Transport } from "./transport.js";

/** What the upload needs from a host: commands (as the user or as root) and writes at an offset. */
export interface UploadOps {
  label: string;
  capture(command: string, options: { asRoot: boolean }): Promise<CapturedRun>;
  writeAt: Transport["writeAt"];
  /** The login user's home directory (where root-owned uploads are staged before `sudo install`). */
  home(): Promise<string>;
}

/**
 * Put `source` at `path` with `mode`, never half-written:
 * 1. skip when `path` already holds that SHA-256 (fix only the mode if that alone differs);
 * 2. otherwise write a temporary file — beside `path` when writing as the user, in the user's home
 *    when writing as root, since the user cannot create files in root's directories —
 *    resuming from whatever an interrupted earlier attempt left there;
 * 3. check its SHA-256 on the remote side; on a mismatch start over once, then give up;
 * 4. rename it into place (as root: `install -m` to a sibling, then rename).
 */
export async function uploadThrough(
  ops: UploadOps,
  source: UploadSource,
  path: string,
  options: UploadOptions & { asRoot: boolean },
): Promise<UploadResult> {
  if (!path.startsWith("/")) throw new Error(`upload target must be an absolute path: ${path}`);
  const { asRoot } = options;
  const mode = modeText(options.mode);
  const run = async (command: string, as: boolean, what: string) => {
    const result = await ops.capture(command, { asRoot: as });
    if (result.code !== 0)
      throw new OperatorError(`host ${ops.label}: ${what} failed (exit ${result.code}): ${oneLine(result.stderr)}`, {
        hint: asRoot
          ? "check that the path is writable by root"
          : "check the path's permissions, or set spec.ssh.sudo: true",
      });
    return result.stdout.toString("utf8");
  };

  const existing = await remoteFileState(ops, path, asRoot);
  if (existing?.sha256 === source.sha256) {
    if (existing.mode === mode) return { skipped: true, bytesSent: 0 };
    await run(`chmod ${mode} -- ${shellQuote(path)}`, asRoot, `chmod ${path}`);
    return { skipped: false, bytesSent: 0 };
  }

  const directory = remoteDirname(path);
  const temp = partialPath(path, source.sha256, asRoot ? await ops.home() : undefined);
  const stagingDir = remoteDirname(temp);
  const key = remoteBasename(temp).split(".").at(-2)!;
  await run(
    asRoot ? `mkdir -p -m 700 -- ${shellQuote(stagingDir)}` : `mkdir -p -- ${shellQuote(stagingDir)}`,
    false,
    `creating ${stagingDir}`,
  );

  let bytesSent = 0;
  for (let attempt = 1; ; attempt++) {
    const present = attempt === 1 ? await remoteSize(ops, temp) : 0;
    const offset = present !== undefined && present <= source.size ? present : 0;
    if (offset < source.size || source.size === 0) {
      let sent = 0;
      options.onProgress?.(offset, source.size);
      await ops.writeAt(temp, offset, source.open(offset), (count) => {
        sent += count;
        bytesSent += count;
        options.onProgress?.(offset + sent, source.size);
      });
    }
    const arrived = (await run(sha256Command(shellQuote(temp)), false, `checking ${temp}`)).slice(0, 64);
    if (arrived === source.sha256) break;
    await ops.capture(`rm -f -- ${shellQuote(temp)}`, { asRoot: false });
    if (attempt === 2)
      throw contentMismatch(ops.label, path, `the content that arrived has SHA-256 ${arrived}`, source);
  }

  const q = { temp: shellQuote(temp), path: shellQuote(path), dir: shellQuote(directory) };
  if (asRoot) {
    const sibling = shellQuote(`${directory}/.${remoteBasename(path)}.${key}.airstrap-new`);
    await run(
      `mkdir -p -- ${q.dir} && install -T -m ${mode} -- ${q.temp} ${sibling} && mv -fT -- ${sibling} ${q.path}`,
      true,
      `installing ${path}`,
    );
    await ops.capture(`rm -f -- ${q.temp}`, { asRoot: false });
  } else {
    await run(`chmod ${mode} -- ${q.temp} && mv -fT -- ${q.temp} ${q.path}`, false, `renaming into ${path}`);
  }
  return { skipped: false, bytesSent };
}

/**
 * Where an upload of this content to this path is staged: beside the path, or (when written as
 * root through sudo) under the user's home. The name depends only on path and content, so an
 * interrupted upload is found and resumed by the next attempt.
 */
export function partialPath(path: string, sha256: string, home: string | undefined): string {
  const key = createHash("sha256").update(`${path}\0${sha256}`).digest("hex").slice(0, 24);
  if (home !== undefined) return `${home}/.cache/airstrap/uploads/${remoteBasename(path)}.${key}.part`;
  return `${remoteDirname(path)}/.${remoteBasename(path)}.${key}.airstrap-part`;
}

/** The content hash and mode (octal text) of a remote file, or undefined when it does not exist. */
export async function remoteFileState(
  ops: Pick<UploadOps, "capture">,
  path: string,
  asRoot: boolean,
): Promise<RemoteFileState | undefined> {
  return (await remoteFileStates(ops, [path], asRoot))[0];
}

export interface RemoteFileState {
  sha256: string;
  mode: string;
}

/** remoteFileState for several paths in one command: one round trip however many files a phase checks. */
export async function remoteFileStates(
  ops: Pick<UploadOps, "capture">,
  paths: readonly string[],
  asRoot: boolean,
): Promise<Array<RemoteFileState | undefined>> {
  if (paths.length === 0) return [];
  const script = [
    `for p in ${paths.map(shellQuote).join(" ")}; do`,
    `  if [ -f "$p" ]; then echo "$(${sha256Command('"$p"')}) $(stat -c %a -- "$p")"; else echo -; fi`,
    "done",
  ].join("\n");
  const result = await ops.capture(script, { asRoot });
  const lines = result.stdout.toString("utf8").split("\n");
  return paths.map((_, i) => {
    const [sha256, mode] = (lines[i] ?? "").trim().split(" ");
    if (result.code !== 0 || !/^[0-9a-f]{64}$/.test(sha256 ?? "") || !mode) return undefined;
    return { sha256: sha256!, mode };
  });
}

async function remoteSize(ops: UploadOps, path: string): Promise<number | undefined> {
  const result = await ops.capture(`stat -c %s -- ${shellQuote(path)} 2>/dev/null || true`, { asRoot: false });
  const text = result.stdout.toString("utf8").trim();
  return /^\d+$/.test(text) ? Number(text) : undefined;
}

/** The content at one end of an upload is not what its SHA-256 says. */
export function contentMismatch(label: string, path: string, what: string, source: UploadSource): OperatorError {
  return new OperatorError(`host ${label}: upload to ${path}: ${what}, expected ${source.sha256}`, {
    hint: "the source does not hold the expected content (changed or damaged since it was checked); verify the artifact store and run again",
  });
}

export function oneLine(text: Buffer | string): string {
  return text.toString().trim().split("\n").slice(-3).join(" / ").slice(0, 500);
}
