import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";

/**
 * Real TFTP clients against a server under test: curl (tftp:// with --tftp-blksize), atftp
 * (blksize and windowsize options), tftp-hpa (RFC 1350 lock-step at 512 bytes). Each downloads
 * one file into `output` and fails on a non-zero exit.
 */

const run = promisify(execFile);

export interface TftpServerAddress {
  address: string;
  port: number;
}

/** "127.0.0.1:6969" (what RunningService.addresses holds) → address and port. */
export function tftpServerOf(address: string): TftpServerAddress {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  if (!match) throw new Error(`not addr:port: ${address}`);
  return { address: match[1]!, port: Number(match[2]) };
}

export async function curlTftp(
  server: TftpServerAddress,
  file: string,
  output: string,
  options: { blksize?: number } = {},
): Promise<void> {
  const host = server.address.includes(":") ? `[${server.address}]` : server.address;
  const blksize = options.blksize === undefined ? [] : ["--tftp-blksize", String(options.blksize)];
  await run("curl", [
    "--silent",
    "--show-error",
    "--fail",
    "--max-time",
    "120",
    ...blksize,
    "-o",
    output,
    `tftp://${host}:${server.port}/${file}`,
  ]);
}

export async function atftpGet(
  server: TftpServerAddress,
  file: string,
  output: string,
  options: { blksize?: number; windowsize?: number } = {},
): Promise<void> {
  const extra = [
    ...(options.blksize === undefined ? [] : ["--option", `blksize ${options.blksize}`]),
    ...(options.windowsize === undefined ? [] : ["--option", `windowsize ${options.windowsize}`]),
  ];
  await run("timeout", ["120", "atftp", ...extra, "-g", "-r", file, "-l", output, server.address, String(server.port)]);
}

/** tftp-hpa prints errors but exits 0 on them: its output is returned for the caller to check. */
export async function tftpHpaGet(server: TftpServerAddress, file: string, output: string): Promise<string> {
  const { stdout, stderr } = await run("timeout", [
    "120",
    "tftp",
    "-m",
    "binary",
    server.address,
    String(server.port),
    "-c",
    "get",
    file,
    output,
  ]);
  return stdout + stderr;
}

export async function sha256File(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

/** Whether a client program is installed (tests SKIP with the reason otherwise). */
export async function hasProgram(name: string): Promise<boolean> {
  try {
    await run("sh", ["-c", `command -v ${name}`]);
    return true;
  } catch {
    return false;
  }
}
