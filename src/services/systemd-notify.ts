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
