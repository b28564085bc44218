import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { OperatorError } from "../errors.js";
import type { UploadResult, UploadSource } from "./host.js";
import { modeText, remoteBasename, remoteDirname, sha256Command, shellQuote } from "./shell.js";
import type { CapturedRun } from "./sudo.js";
import { contentMismatch, oneLine } from "./upload.js";

/**
 * Files up to this size (configs, units, certificates, the node plan) go in one command: content on
 * stdin, checked and renamed on the host. The resumable path costs seven round trips per file, which
 * for a few hundred bytes is all of the time on a distant link, and most of the host's SSH work.
 */
export const SMALL_UPLOAD_MAX_BYTES = 64 * 1024;

export interface SmallUploadOps {
  label: string;
  capture(command: string, options: { asRoot: boolean; stdin: Buffer }): Promise<CapturedRun>;
}

/**
 * Put a small `source` at `path` with `mode` in a single round trip, never half-written: the host
 * skips it when `path` already holds that SHA-256 (fixing only the mode when that alone differs);
 * otherwise writes a sibling temporary file, checks its SHA-256 and renames it into place.
 */
export async function uploadSmall(
  ops: SmallUploadOps,
  source: UploadSource,
  path: string,
  options: { mode: number; asRoot: boolean; onProgress?: (sent: number, total: number) => void },
): Promise<UploadResult> {
  const content = await readAll(source.open(0));
  const local = createHash("sha256").update(content).digest("hex");
  if (local !== source.sha256)
    throw contentMismatch(ops.label, path, `the content to send has SHA-256 ${local}`, source);

  options.onProgress?.(0, content.length);
  const result = await ops.capture(smallUploadScript(path, source.sha256, options.mode), {
    asRoot: options.asRoot,
    stdin: content,
  });
  const outcome = result.stdout.toString("utf8").trim();
  if (result.code !== 0 || outcome === "")
    throw new OperatorError(
      `host ${ops.label}: writing ${path} failed (exit ${result.code}): ${oneLine(result.stderr)}`,
      {
        hint: options.asRoot
          ? "check that the path is writable by root"
          : "check the path's permissions, or set spec.ssh.sudo: true",
      },
    );
  if (outcome.startsWith("mismatch "))
    throw contentMismatch(ops.label, path, `the content that arrived has SHA-256 ${outcome.slice(9)}`, source);
  if (outcome === "unchanged") return { skipped: true, bytesSent: 0 };
  if (outcome === "mode") return { skipped: false, bytesSent: 0 };
  options.onProgress?.(content.length, content.length);
  return { skipped: false, bytesSent: content.length };
}

/** The host side of uploadSmall; prints unchanged, mode, written or `mismatch <sha256>`. */
export function smallUploadScript(path: string, sha256: string, mode: number): string {
  const p = shellQuote(path);
  const dir = shellQuote(remoteDirname(path));
  // Beside the target, so the rename stays on one filesystem; a name of its own per content.
  const temp = shellQuote(`${remoteDirname(path)}/.${remoteBasename(path)}.${sha256.slice(0, 16)}.airstrap-new`);
  const m = modeText(mode);
  return [
    `if [ -f ${p} ] && [ "$(${sha256Command(p)})" = ${sha256} ]; then`,
    "  cat >/dev/null",
    `  if [ "$(stat -c %a -- ${p})" = ${m} ]; then echo unchanged; exit 0; fi`,
    `  chmod ${m} -- ${p} || exit 1`,
    "  echo mode; exit 0",
    "fi",
    `mkdir -p -- ${dir} || exit 1`,
    `(umask 077 && cat > ${temp}) || { rm -f -- ${temp}; exit 1; }`,
    `arrived=$(${sha256Command(temp)})`,
    `if [ "$arrived" != ${sha256} ]; then rm -f -- ${temp}; echo "mismatch $arrived"; exit 0; fi`,
    `chmod ${m} -- ${temp} && mv -fT -- ${temp} ${p} || { rm -f -- ${temp}; exit 1; }`,
    "echo written",
  ].join("\n");
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}
