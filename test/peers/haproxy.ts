/** HAProxy (Debian package) in the foreground with a temporary config, for the load balancer benchmark. */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RunningHaproxy {
  child: ChildProcess;
  /** SIGKILL, as a crash. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts `haproxy -db -f <config>` and waits until `waitFor` ("addr:port") accepts connections. */
export async function startHaproxy(config: string, waitFor: string): Promise<RunningHaproxy> {
  const dir = mkdtempSync(join(tmpdir(), "airstrap-haproxy-"));
  const file = join(dir, "haproxy.cfg");
  writeFileSync(file, config);
  const child = spawn("haproxy", ["-db", "-f", file], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = once(child, "exit");
  const [host, port] = [
    waitFor.slice(0, waitFor.lastIndexOf(":")),
    Number(waitFor.slice(waitFor.lastIndexOf(":") + 1)),
  ];
  const deadline = Date.now() + 10_000;
  while (!(await accepts(host, port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`haproxy did not start: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { child, kill: () => end("SIGKILL"), stop: () => end("SIGTERM") };
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** A tiny HTTP server (HAProxy answering every request itself): the backend for connection-rate and latency runs. */
export function tinyHttpBackendConfig(address: string, port: number): string {
  return `global
  nbthread 1
  maxconn 8000
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend tiny
  bind ${address}:${port}
  http-request return status 200 content-type text/plain string "ok"
`;
}

/** HAProxy as a TCP load balancer, configured like airstrap's (least connections, connect timeout, TCP checks). */
export function tcpBalancerConfig(options: {
  listen: string;
  backends: string[];
  check: string;
  extra?: string[];
}): string {
  return `global
  nbthread 1
  maxconn 8000
defaults
  mode tcp
  timeout connect 2s
  timeout client 1h
  timeout server 1h
${(options.extra ?? []).map((line) => `  ${line}`).join("\n")}
frontend lb
  bind ${options.listen}
  default_backend servers
backend servers
  balance leastconn
${options.backends.map((b, i) => `  server s${i + 1} ${b} check ${options.check}`).join("\n")}
`;
}
