import { constants } from "node:os";
import type { Readable, Writable } from "node:stream";

/**
 * What a transport (SSH or the local machine) must offer; sudo, uploads, reads and downloads are
 * built once on top of it (transport-host.ts), so both transports behave the same.
 */
export interface Transport {
  readonly name: string;
  readonly address: string;
  /** The login user's name ("root" means no sudo is ever needed). */
  user(): Promise<string>;
  /**
   * Runs a shell command line as the login user, streaming its output into the sinks (left open).
   * Resolves with the exit status (128 + signal number when killed); throws only when the transport fails.
   */
  run(command: string, io: RunIo): Promise<number>;
  /**
   * Writes `source` into `path` (as the login user, mode 0600 when created) starting at byte
   * `offset`; offset 0 truncates. `onBytes` is called with each chunk's size once it went out.
   */
  writeAt(path: string, offset: number, source: Readable, onBytes: (count: number) => void): Promise<void>;
  close(): Promise<void>;
}

export interface RunIo {
  stdin?: Buffer;
  stdout: Writable;
  stderr: Writable;
  timeoutMs?: number;
}

/** Exit status reported for a command killed because it ran longer than its timeout (as timeout(1)). */
export const TIMED_OUT_STATUS = 124;

/** How long after its own timeout a transport gives up waiting for a command that timeout(1) should have ended. */
export const TIMEOUT_GRACE_MS = 5000;

/** "TERM" or "SIGTERM" → 15 (0 when unknown). */
export function signalNumber(name: string): number {
  const full = (name.startsWith("SIG") ? name : `SIG${name}`) as NodeJS.Signals;
  return constants.signals[full] ?? 0;
}
