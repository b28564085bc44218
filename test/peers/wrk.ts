/** wrk (Debian package): HTTP load for a bounded duration; parses rate and latency percentiles. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

export interface WrkResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

export async function runWrk(
  url: string,
  options: { connections: number; seconds: number; threads?: number; headers?: string[] },
): Promise<WrkResult> {
  const args = [
    `--threads=${options.threads ?? 1}`,
    `--connections=${options.connections}`,
    `--duration=${options.seconds}s`,
    "--latency",
    ...(options.headers ?? []).flatMap((h) => ["--header", h]),
    url,
  ];
  const { stdout } = await promisify(execFile)("wrk", args, { timeout: (options.seconds + 20) * 1000 });
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
  if (!rate) throw new Error(`wrk: no result in ${stdout}`);
  const errorsMatch = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
  return {
    requestsPerSecond: Number(rate[1]),
    p50Ms: percentile(stdout, "50%"),
    p99Ms: percentile(stdout, "99%"),
    errors:
      (errorsMatch ? errorsMatch.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0) +
      (non2xx ? Number(non2xx[1]) : 0),
  };
}

function percentile(stdout: string, label: string): number {
  const match = new RegExp(`^\\s+${label}\\s+([\\d.]+)(us|ms|s)$`, "m").exec(stdout);
  if (!match) throw new Error(`wrk: no ${label} latency in ${stdout}`);
  const scale = { us: 0.001, ms: 1, s: 1000 }[match[2] as "us" | "ms" | "s"];
  return Number(match[1]) * scale;
}
