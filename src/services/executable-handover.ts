import { type ChildProcess, spawn } from "node:child_process";
import { unwatchFile, watchFile } from "node:fs";
import type { Events } from "../events.js";
import { VERSION } from "../version.js";
import { handoverSockets, INHERITED_SOCKETS_ENV, type InheritedSocket } from "./socket-handover.js";
import { notifyMainPid } from "./systemd-notify.js";

/**
 * Replacing the running executable without a moment when its ports are closed. The host service
 * watches its own executable; when a new one is put in place (the node agent renames it over the
 * old, see node-agent/host-upgrade.ts) and runs, it starts the new one with the same arguments
 * and its listening sockets as inherited descriptors. The new process serves on them, tells
 * systemd it is the service's main process now, and says so to the old one, which then stops.
 * Until that word, the old one keeps serving; if it never comes, the new one is stopped.
 */
const HANDOVER_ENV = "AIRSTRAP_HANDOVER";
const READY = "airstrap.handover.ready";

/** True in a process started by a hand-over (read once: its own children are not). */
const startedByHandover = process.env[HANDOVER_ENV] === "1";
delete process.env[HANDOVER_ENV];

export interface ExecutableWatchOptions {
  executable: string;
  /** The arguments the new process gets (this process's own). */
  args: string[];
  events: Events;
  /** How long the new process may take to serve before it is given up on. */
  readyTimeoutMs: number;
  pollMs?: number;
}

export interface ExecutableWatch {
  /** Resolves when a new process has taken over: this one should close and exit. */
  replaced: Promise<void>;
  stop(): void;
}

export function watchExecutable(options: ExecutableWatchOptions): ExecutableWatch {
  const { executable, events } = options;
  let resolveReplaced: () => void = () => {};
  const replaced = new Promise<void>((resolve) => {
    resolveReplaced = resolve;
  });
  let busy = false;
  let again = false;
  let done = false;

  const attempt = async () => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      // No separate `--version` run first: a second start of the executable would only slow the
      // hand-over; one that does not run never says it serves, and this process keeps serving.
      events.emit({ level: "info", kind: "node.upgrade.start", message: `${executable} changed: handing over` });
      const { pid, version } = await handOver(options);
      events.emit({
        level: "info",
        kind: "node.upgrade.done",
        message: `handed over to pid ${pid} (airstrap ${version}); this process stops`,
      });
      done = true;
      resolveReplaced();
    } catch (error) {
      events.emit({
        level: "error",
        kind: "node.upgrade.failed",
        message: `hand-over to ${executable} failed: ${(error as Error).message}; this process keeps serving`,
      });
    } finally {
      busy = false;
      if (again && !done) {
        again = false;
        void attempt();
      }
    }
  };
  const listener = (current: { ino: number; mtimeMs: number; size: number }, previous: typeof current) => {
    if (done || current.size === 0) return;
    if (current.ino !== previous.ino || current.mtimeMs !== previous.mtimeMs || current.size !== previous.size)
      void attempt();
  };
  watchFile(executable, { interval: options.pollMs ?? 1000, persistent: false }, listener);
  return { replaced, stop: () => unwatchFile(executable, listener) };
}

/** Starts the new process on this one's sockets; resolves with its pid and version once it serves. */
function handOver(options: ExecutableWatchOptions): Promise<{ pid: number; version: string }> {
  const sockets = handoverSockets();
  // fds 0-2 are stdio, 3 the IPC channel; the sockets follow in order.
  const inherited: InheritedSocket[] = sockets.map((s, i) => ({
    kind: s.kind,
    address: s.address,
    port: s.port,
    fd: 4 + i,
  }));
  const child: ChildProcess = spawn(options.executable, options.args, {
    stdio: ["ignore", "inherit", "inherit", "ipc", ...sockets.map((s) => s.parentFd)],
    env: { ...process.env, [INHERITED_SOCKETS_ENV]: JSON.stringify(inherited), [HANDOVER_ENV]: "1" },
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => fail(new Error(`no word from pid ${child.pid} in ${options.readyTimeoutMs} ms`)),
      options.readyTimeoutMs,
    );
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill("SIGTERM");
      reject(error);
    };
    child.once("error", fail);
    child.once("exit", (code, signal) => fail(new Error(`the new process exited (${signal ?? code}) before serving`)));
    child.on("message", (message: { kind?: string; version?: string }) => {
      if (message?.kind !== READY) return;
      clearTimeout(timer);
      child.removeAllListeners("exit");
      child.disconnect();
      child.unref();
      resolve({ pid: child.pid ?? 0, version: message.version ?? "unknown" });
    });
  });
}

/**
 * Called once the services serve: tells systemd (Type=notify) and, in a process a hand-over
 * started, the old process — after systemd has been told this is the main process now, so the
 * old one's exit is not taken for the service's.
 */
export async function announceServing(): Promise<void> {
  await notifyMainPid();
  if (startedByHandover && process.send) {
    await new Promise<void>((resolve) =>
      process.send?.({ kind: READY, pid: process.pid, version: VERSION }, () => resolve()),
    );
    process.disconnect?.();
  }
}
