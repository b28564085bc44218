import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { chmod, link, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";
import { fsyncPath } from "../store/blob-store.js";
import { compareVersions } from "./version-order.js";

const run = promisify(execFile);

/**
 * The agent's half of upgrading a node's airstrap: when the agent's image carries a newer airstrap
 * than the host's executable, the image's executable is copied beside the host's, checked against
 * the digest of what was read, the old one is kept as `airstrap.previous` (rollback), and the new
 * one renamed over it — one atomic step, so the host (and systemd) find either the old or the new
 * executable, never part of one. The host service notices and hands its sockets over to the new
 * executable (services/executable-handover.ts).
 */
export interface HostUpgradeConfig {
  /** The agent's own executable: the one in its image. */
  ownExecutable: string;
  /** The host's executable, as mounted in the pod (the DaemonSet mounts /usr/local/bin). */
  hostExecutable: string;
  version: string;
}

export type HostUpgrade =
  | { outcome: "absent" }
  | { outcome: "current" | "newer-on-host"; hostVersion: string }
  | { outcome: "upgraded"; from: string; to: string; sha256: string; previous: string }
  | { outcome: "failed"; hostVersion?: string; problem: string };

export const PREVIOUS_SUFFIX = ".previous";

export async function versionOfExecutable(file: string): Promise<string | undefined> {
  try {
    return (await run(file, ["--version"], { timeout: 120_000 })).stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function upgradeHostExecutable(config: HostUpgradeConfig): Promise<HostUpgrade> {
  const hostVersion = await versionOfExecutable(config.hostExecutable);
  if (hostVersion === undefined) return { outcome: "absent" };
  const order = compareVersions(config.version, hostVersion);
  if (order === 0) return { outcome: "current", hostVersion };
  if (order < 0) return { outcome: "newer-on-host", hostVersion };
  const dir = dirname(config.hostExecutable);
  const temp = join(dir, `.${basename(config.hostExecutable)}.upgrade-${process.pid}`);
  const previous = `${config.hostExecutable}${PREVIOUS_SUFFIX}`;
  try {
    const sha256 = await copyHashed(config.ownExecutable, temp);
    const written = await sha256Of(temp);
    if (written !== sha256) {
      return { outcome: "failed", hostVersion, problem: `the copy in ${dir} does not match (${written} ≠ ${sha256})` };
    }
    await chmod(temp, 0o755);
    // The old executable stays as airstrap.previous: a hard link, so its path never lacks a file.
    await rm(`${previous}.tmp`, { force: true });
    await link(config.hostExecutable, `${previous}.tmp`);
    await rename(`${previous}.tmp`, previous);
    await rename(temp, config.hostExecutable);
    await fsyncPath(dir);
    const now = await versionOfExecutable(config.hostExecutable);
    if (now !== config.version) {
      // Put the previous one back (the same way in), so the node runs what it ran.
      await rm(temp, { force: true });
      await link(previous, temp);
      await rename(temp, config.hostExecutable);
      return {
        outcome: "failed",
        hostVersion,
        problem: `${config.hostExecutable} reports ${now} after the upgrade; the previous executable is back`,
      };
    }
    return { outcome: "upgraded", from: hostVersion, to: config.version, sha256, previous };
  } catch (error) {
    return { outcome: "failed", hostVersion, problem: (error as Error).message };
  } finally {
    await rm(temp, { force: true });
  }
}

/** Copies `from` to `to` (new file, fsynced); returns the SHA-256 of the bytes read. */
async function copyHashed(from: string, to: string): Promise<string> {
  const hash = createHash("sha256");
  const out = await open(to, "wx", 0o700);
  try {
    for await (const chunk of createReadStream(from, { highWaterMark: 1 << 20 })) {
      hash.update(chunk as Buffer);
      await out.write(chunk as Buffer);
    }
    await out.sync();
  } finally {
    await out.close();
  }
  return hash.digest("hex");
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
