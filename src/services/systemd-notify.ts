import { spawn } from "node:child_process";

/**
 * Tells systemd the service is up when it runs as a Type=notify unit with NotifyAccess=all (the
 * message comes from a child, systemd-notify); harmless otherwise. Node has no unix datagram
 * sockets, hence the child.
 */
export function notifyReady(): void {
  if (!process.env.NOTIFY_SOCKET) return;
  const child = spawn("systemd-notify", ["--ready", `--pid=${process.pid}`], { stdio: "ignore" });
  child.on("error", () => {});
}

/**
 * Tells systemd that this process is now the service's main process and ready (MAINPID=, READY=1):
 * what the process that took over from an older executable says before the older one exits.
 * Resolves once systemd-notify has sent it (at once outside systemd).
 */
export function notifyMainPid(): Promise<void> {
  if (!process.env.NOTIFY_SOCKET) return Promise.resolve();
  return new Promise((resolve) => {
    const child = spawn("systemd-notify", ["--ready", `--pid=${process.pid}`], { stdio: "ignore" });
    child.on("error", () => resolve());
    child.on("exit", () => resolve());
  });
}
