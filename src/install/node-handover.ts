import { sha256Command } from "../hosts/shell.js";
import type { PlannedHost } from "../plan/types.js";
import { hostOf } from "./host-of.js";
import type { PhaseContext } from "./phase.js";

/**
 * When install replaces the executable of a running airstrap-node, the running service notices
 * and hands its sockets over to the new executable (services/executable-handover.ts), with no
 * moment when DNS and the LB are closed. A `systemctl restart` on top of that would race it: it
 * stops the old process and the successor mid-start and leaves a gap. So install restarts only a
 * service that cannot hand over, and otherwise waits for the hand-over and checks its outcome.
 */
const SERVICE = "airstrap-node";
/** The hand-over's own limit (120 s for the successor to serve) plus the executable watch's poll. */
const HANDOVER_WAIT_SECONDS = 150;

/**
 * Exit 0 when the running airstrap-node will take a replaced executable over by itself: its unit
 * lets a new main process announce itself (Type=notify, NotifyAccess=all), and the executable it
 * runs (/proc/PID/exe: the one it started from, even once replaced) has the hand-over — the
 * `node` command gained `--executable` with it.
 */
export function handsOverCheck(): string {
  return [
    `[ "$(systemctl show -p Type --value ${SERVICE})" = notify ] || exit 1`,
    `[ "$(systemctl show -p NotifyAccess --value ${SERVICE})" = all ] || exit 1`,
    `pid=$(systemctl show -p MainPID --value ${SERVICE})`,
    `[ "\${pid:-0}" -gt 0 ] || exit 1`,
    `/proc/$pid/exe node --help 2>/dev/null | grep -q -- '--executable'`,
  ].join("\n");
}

/**
 * Waits (bounded) until airstrap-node is active with a main process running the executable of
 * this SHA-256 — the successor becomes the main process only once it serves — and prints its PID
 * and version. Exit 1 when that does not happen in time.
 */
export function handoverWaitCommand(sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a SHA-256: ${sha256}`);
  return [
    `i=0; while [ "$i" -lt ${HANDOVER_WAIT_SECONDS} ]; do`,
    `  pid=$(systemctl show -p MainPID --value ${SERVICE})`,
    `  if [ "\${pid:-0}" -gt 0 ] && [ "$(systemctl is-active ${SERVICE})" = active ] &&`,
    `     [ "$(${sha256Command('"/proc/$pid/exe"')})" = ${sha256} ]; then`,
    `    echo "$pid $(/proc/$pid/exe --version 2>/dev/null)"; exit 0`,
    "  fi",
    "  i=$((i + 1)); sleep 1",
    "done",
    "exit 1",
  ].join("\n");
}

/** Asked before the executable is replaced: whether the running service will hand over to it. */
export async function serviceHandsOver(ctx: PhaseContext, host: PlannedHost): Promise<boolean> {
  const result = await hostOf(ctx, host).exec(handsOverCheck(), { sudo: host.ssh.sudo, timeoutMs: 60_000 });
  return result.code === 0;
}

/** Waits for the hand-over to the executable of `sha256`: what now serves, or undefined when it did not happen. */
export async function awaitHandover(
  ctx: PhaseContext,
  host: PlannedHost,
  sha256: string,
): Promise<{ pid: number; version: string } | undefined> {
  const result = await hostOf(ctx, host).exec(handoverWaitCommand(sha256), {
    sudo: host.ssh.sudo,
    timeoutMs: (HANDOVER_WAIT_SECONDS + 60) * 1000,
  });
  if (result.code !== 0) return undefined;
  const [pid, version] = result.stdout.trim().split(/\s+/);
  return { pid: Number(pid), version: version || "unknown" };
}
