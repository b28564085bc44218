import { TransientHostError } from "../hosts/host.js";
import { modeText, remoteDirname, sha256Command, shellQuote } from "../hosts/shell.js";
import type { PlannedHost } from "../plan/types.js";
import { hostOf } from "./host-of.js";
import { type PhaseContext, PhaseFailure } from "./phase.js";

/** The host cannot reach the file server at all (or has no curl): the caller sends the file over SSH instead. */
export class FileServerUnreachable extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FileServerUnreachable";
  }
}

const CORRUPT = 91;
const RELAY_FAILED = "airstrap: the relay failed:";
const CANNOT_WRITE = 92;
/** curl: could not resolve (6), could not connect (7); the shell: no curl (127). */
const UNREACHABLE = new Set([6, 7, 127]);
/** curl: partial file (18), timeout (28), empty reply (52), send (55) or receive (56) failure. */
const TRANSIENT = new Set([18, 28, 52, 55, 56]);

/** Where a file grows while it is fetched; a relay on the host serves this path to the next host. */
export function partPathFor(path: string, sha256: string): string {
  return `${path}.${sha256.slice(0, 12)}.part`;
}

/**
 * The script a host runs to pull one file: curl into the part file (resumed with a Range request
 * when a previous attempt left part of it), check the SHA-256, set the mode, rename into place.
 * `urls` are tried in order — a relay on another host first, the bootstrap machine last — and a
 * later one resumes what an earlier one left. Content that is complete but wrong is fetched once
 * more from scratch from the same source (a bad head from an earlier source), then from the next.
 * An incomplete part is kept for the next attempt; a complete one with the wrong content is deleted.
 */
export function fetchScript(urls: readonly string[], path: string, sha256: string, mode: number): string {
  const part = shellQuote(partPathFor(path, sha256));
  const [relays, last] = [urls.slice(0, -1), urls[urls.length - 1]!];
  // --speed-time: a transfer that stalls for a minute is given up (and retried) rather than hanging the run.
  const curl = `curl -fsS --connect-timeout 10 --speed-limit 1 --speed-time 60 -C - -o ${part}`;
  return [
    `mkdir -p ${shellQuote(remoteDirname(path))} || exit ${CANNOT_WRITE}`,
    // Hashing is most of the host's work for a big file: each outcome is hashed once.
    `ok() { [ "$(${sha256Command(part)})" = ${sha256} ] && good=1; }`,
    `get() { ${curl} "$@"; rc=$?; ok && return; if [ "$rc" -eq 0 ]; then rm -f ${part}; ${curl} "$@"; rc=$?; ok; fi; }`,
    "good=0 rc=0",
    // A relay that has not started listening yet refuses: curl waits for it a few seconds.
    // What failed here is told on stderr (RELAY_FAILED), so the host's later files skip this relay.
    ...relays.map(
      (url) =>
        `[ "$good" = 1 ] || { get --connect-timeout 5 --retry 2 --retry-connrefused --retry-delay 1 ${shellQuote(url)}; [ "$good" = 1 ] || echo "${RELAY_FAILED} curl exit $rc" >&2; }`,
    ),
    `[ "$good" = 1 ] || get ${shellQuote(last)}`,
    `if [ "$good" != 1 ]; then`,
    `  [ "$rc" -ne 0 ] && exit "$rc"`,
    `  rm -f ${part}; exit ${CORRUPT}`,
    "fi",
    `chmod ${modeText(mode)} ${part} && mv -f ${part} ${shellQuote(path)} || exit ${CANNOT_WRITE}`,
  ].join("\n");
}

/**
 * Runs fetchScript on the host and turns its exit into the right kind of failure. `url` is the
 * bootstrap machine's; `relays` (other hosts passing on their own download) are tried before it.
 */
export async function fetchOnHost(
  ctx: PhaseContext,
  host: PlannedHost,
  url: string,
  path: string,
  sha256: string,
  mode: number,
  relays: readonly string[] = [],
): Promise<{ relayFailed: boolean }> {
  const script = fetchScript([...relays, url], path, sha256, mode);
  const result = await hostOf(ctx, host).exec(script, { sudo: host.ssh.sudo });
  const relayFailed = result.stderr.includes(RELAY_FAILED);
  if (result.code === 0) return { relayFailed };
  const said = result.stderr.trim().split("\n").slice(-2).join(" / ");
  if (UNREACHABLE.has(result.code)) throw new FileServerUnreachable(`${url}: ${said || `exit ${result.code}`}`);
  if (TRANSIENT.has(result.code))
    throw new TransientHostError(`fetching ${url} was cut off (curl exit ${result.code}): ${said}`, host.name);
  if (result.code === CORRUPT)
    throw new PhaseFailure(
      `${path}: what arrived from ${url} does not have SHA-256 ${sha256}`,
      "check the store on the bootstrap machine with airstrap artifacts check",
    );
  if (result.code === CANNOT_WRITE) throw new PhaseFailure(`cannot write ${path} on ${host.name}: ${said}`);
  if (result.code === 22)
    throw new PhaseFailure(
      `the bootstrap file server refused ${url}: ${said}`,
      "a 403 means the host's address is outside the site's allowed networks (spec.dns.allowedNetworks)",
    );
  throw new PhaseFailure(`fetching ${url} failed (exit ${result.code}): ${said}`);
}
