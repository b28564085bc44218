import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { userInfo } from "node:os";
import { type Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { OperatorError } from "../errors.js";
import { type Events, silentEvents } from "../events.js";
import type { Host } from "./host.js";
import type { SudoPasswordSource } from "./sudo.js";
import { type RunIo, signalNumber, TIMED_OUT_STATUS, TIMEOUT_GRACE_MS, type Transport } from "./transport.js";
import { TransportHost } from "./transport-host.js";

export interface LocalHostOptions {
  /** The name events and messages use (default "local"). */
  name?: string;
  /** Whether `sudo: true` operations go through sudo when airstrap does not run as root (default true). */
  sudo?: boolean;
  sudoPassword?: SudoPasswordSource;
  events?: Events;
  /** Bytes of each command output kept in memory (see output-cap.ts). */
  maxOutputBytes?: number;
}

/** The machine airstrap runs on, through child processes: the same semantics as an SSH host. */
export function localHost(options: LocalHostOptions = {}): Host {
  const env = process.env.AIRSTRAP_SUDO_PASSWORD;
  return new TransportHost(new LocalTransport(options.name ?? "local"), {
    sudo: options.sudo ?? true,
    sudoPassword: options.sudoPassword ?? (async () => env),
    events: options.events ?? silentEvents,
    ...(options.maxOutputBytes === undefined ? {} : { maxOutputBytes: options.maxOutputBytes }),
  });
}

class LocalTransport implements Transport {
  readonly address = "local";

  constructor(readonly name: string) {}

  async user(): Promise<string> {
    return process.getuid?.() === 0 ? "root" : userInfo().username;
  }

  run(command: string, io: RunIo): Promise<number> {
    return new Promise((resolve, reject) => {
      // Own process group, so a timeout kills the whole command, not only the shell.
      const child = spawn("/bin/sh", ["-c", command], { stdio: ["pipe", "pipe", "pipe"], detached: true });
      let timedOut = false;
      const timer =
        io.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              timedOut = true;
              try {
                process.kill(-child.pid!, "SIGKILL");
              } catch {
                // already gone
              }
            }, io.timeoutMs + TIMEOUT_GRACE_MS);
      child.stdout.pipe(io.stdout, { end: false });
      child.stderr.pipe(io.stderr, { end: false });
      child.stdin.on("error", () => {
        // The command may exit without reading its stdin; that is its business.
      });
      child.stdin.end(io.stdin ?? Buffer.alloc(0));
      child.on("error", (error) => {
        clearTimeout(timer);
        reject(new OperatorError(`cannot run /bin/sh on this machine: ${error.message}`));
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        if (timedOut) resolve(TIMED_OUT_STATUS);
        else if (code !== null) resolve(code);
        else resolve(128 + (signal === null ? 0 : signalNumber(signal)));
      });
    });
  }

  async writeAt(path: string, offset: number, source: Readable, onBytes: (count: number) => void): Promise<void> {
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        done(null, chunk);
        onBytes(chunk.length);
      },
    });
    try {
      await pipeline(
        source,
        counter,
        createWriteStream(path, { flags: offset === 0 ? "w" : "r+", start: offset, mode: 0o600 }),
      );
    } catch (error) {
      throw new OperatorError(`cannot write ${path}: ${(error as Error).message}`, {
        hint: "check the directory's permissions, or upload with sudo",
      });
    }
  }

  async close(): Promise<void> {}
}
