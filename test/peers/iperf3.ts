/** iperf3 (Debian package): bulk TCP throughput, server in the foreground on a loopback port. */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { promisify } from "node:util";

export interface Iperf3Server {
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function startIperf3Server(address: string, port: number): Promise<Iperf3Server> {
  const child = spawn("iperf3", ["--server", "--forceflush", "--bind", address, "--port", String(port)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      if (chunk.includes("Server listening")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`iperf3 server exited (${code})`)));
  });
  const exited = once(child, "exit");
  return {
    child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
}

/** Runs one client for `seconds` against host:port and returns the received throughput in bit/s. */
export async function iperf3Throughput(host: string, port: number, seconds: number): Promise<number> {
  const { stdout } = await promisify(execFile)(
    "iperf3",
    ["--client", host, "--port", String(port), "--time", String(seconds), "--json"],
    { timeout: (seconds + 20) * 1000, maxBuffer: 16 * 1024 * 1024 },
  );
  const report = JSON.parse(stdout) as { end?: { sum_received?: { bits_per_second?: number } }; error?: string };
  const bps = report.end?.sum_received?.bits_per_second;
  if (bps === undefined) throw new Error(`iperf3: ${report.error ?? "no result"}`);
  return bps;
}
