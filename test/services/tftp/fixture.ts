import { randomBytes } from "node:crypto";
import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AirstrapEvent, createEvents } from "../../../src/events.js";
import { type TftpConfig, tftpConfig } from "../../../src/services/tftp/config.js";
import { type RunningTftp, startTftp } from "../../../src/services/tftp/service.js";

/** A TFTP server on a loopback port above 1024, serving a fresh folder, with the events it emitted. */

interface TestContext {
  after(fn: () => Promise<void> | void): void;
}

export interface TestTftp {
  tftp: RunningTftp;
  root: string;
  port: number;
  events: AirstrapEvent[];
}

export async function tempRoot(t: TestContext): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "airstrap-tftp-"));
  t.after(() => rm(root, { recursive: true, force: true }));
  return root;
}

export async function startTestTftp(
  t: TestContext,
  options: { root?: string; limits?: Partial<Omit<TftpConfig, "listen" | "root">> } = {},
): Promise<TestTftp> {
  const root = options.root ?? (await tempRoot(t));
  const events = createEvents();
  const seen: AirstrapEvent[] = [];
  events.subscribe((event) => seen.push(event));
  const tftp = await startTftp(tftpConfig([{ address: "127.0.0.1", port: 0 }], root, options.limits), events);
  t.after(() => tftp.close());
  return { tftp, root, port: Number(tftp.addresses[0]!.split(":")[1]), events: seen };
}

export async function writeRandomFile(path: string, bytes: number): Promise<Buffer> {
  const data = randomBytes(bytes);
  await writeFile(path, data);
  return data;
}

export const IPXE_FILES = ["undionly.kpxe", "ipxe.efi"] as const;

/** Copies Debian's iPXE binaries into the root; false when the ipxe package is missing. */
export async function copyIpxe(root: string): Promise<boolean> {
  try {
    for (const file of IPXE_FILES) await copyFile(join("/usr/lib/ipxe", file), join(root, file));
    return true;
  } catch {
    return false;
  }
}

/** Resolves with the first event of `kind` (already seen or yet to come). */
export async function eventOf(seen: AirstrapEvent[], kind: string, ms = 15_000): Promise<AirstrapEvent> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = seen.find((event) => event.kind === kind);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no ${kind} event within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
