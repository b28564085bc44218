import { spawnSync } from "node:child_process";
import type { TestLab, TestLabHost } from "./lab-fixture.js";

/**
 * Left out of a filesystem snapshot, each for a reason that has nothing to do with what airstrap
 * does to a host:
 * - /proc, /sys: kernel views of processes and devices; they change every moment by themselves.
 * - /dev: device nodes on a tmpfs that systemd-nspawn creates at boot, not files anything installs.
 * - /run: a tmpfs of runtime state; the snapshot's own SSH login writes utmp and session files there.
 * - /tmp: a tmpfs of scratch files that systemd-tmpfiles cleans on its own schedule.
 * - /var/log: sshd records every login (the snapshot's own included) in lastlog, wtmp and btmp, and
 *   journald appends to its journal files (/var/log/journal) all the time.
 * - /var/cache: caches that the host's own timers may rebuild at any moment (apt, man-db, ldconfig).
 * Journal files elsewhere (/run/log/journal, the volatile journal) are already under /run.
 */
export const SNAPSHOT_EXCLUDED = ["/proc", "/sys", "/dev", "/run", "/tmp", "/var/log", "/var/cache"] as const;

/**
 * Every path on the host as the host itself sees it, one sorted line each: type, mode, size,
 * owner, path (and the target of a symlink); regular files also get their SHA-256. Read through the
 * lab identity with the OpenSSH client; the output can be several megabytes, hence the large buffer.
 */
export function snapshotHostFilesystem(site: TestLab, host: TestLabHost): string[] {
  const prune = SNAPSHOT_EXCLUDED.map((path) => `-path ${path}`).join(" -o ");
  const command = [
    "set -e",
    `find / \\( ${prune} \\) -prune -o -printf '%y %m %s %U:%G %p -> %l\\n'`,
    `find / \\( ${prune} \\) -prune -o -type f -print0 | xargs -0 -r sha256sum | sed 's/^/sha256 /'`,
  ].join("\n");
  const result = spawnSync(
    "ssh",
    [
      "-i",
      site.identity,
      "-o",
      "BatchMode=yes",
      "-o",
      "StrictHostKeyChecking=yes",
      "-o",
      `UserKnownHostsFile=${site.knownHosts}`,
      "-o",
      "ConnectTimeout=5",
      `root@${host.address}`,
      command,
    ],
    { encoding: "utf8", timeout: 120_000, maxBuffer: 256 * 2 ** 20 },
  );
  if (result.status !== 0)
    throw new Error(`snapshot of ${host.name} failed (exit ${result.status}): ${result.stderr ?? result.error}`);
  return result.stdout
    .split("\n")
    .filter((line) => line !== "")
    .sort();
}

/** Lines only in `before` (prefixed "-") and only in `after` ("+"): what changed between two snapshots. */
export function snapshotDifference(before: string[], after: string[]): string[] {
  const old = new Set(before);
  const now = new Set(after);
  return [
    ...before.filter((line) => !now.has(line)).map((line) => `- ${line}`),
    ...after.filter((line) => !old.has(line)).map((line) => `+ ${line}`),
  ];
}
