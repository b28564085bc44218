import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { waitFor as waitForCondition } from "../../helpers/wait-for.js";

/** Helpers for tests of the DNS server's worker processes: run the verb, find and pause processes. */

export const ROOT = new URL("../../../", import.meta.url).pathname;
/** The flag-form site the worker tests serve: n1 (this node, 10.9.0.10) and n2 (10.9.0.11) in site.lan. */
export const SITE_FLAGS = [
  "--domain",
  "site.lan",
  "--node-name",
  "n1",
  "--node-address",
  "10.9.0.10",
  "--host",
  "n2=10.9.0.11",
];

/** The smallest flag-form site: one node, n (10.0.0.1), in a.lan — for tests about the flags themselves. */
export const ONE_NODE_FLAGS = ["--domain", "a.lan", "--node-name", "n", "--node-address", "10.0.0.1"];

/** How a test (or a server started inside a test) runs airstrap from source. */
export const AIRSTRAP_FROM_SOURCE = [process.execPath, "--import", "tsx", `${ROOT}src/cli/main.ts`];

export interface RunningCli {
  child: ChildProcess;
  exited: Promise<{ code: number | null; stderr: string }>;
  stderr(): string;
}

export function airstrapCli(args: string[], command = AIRSTRAP_FROM_SOURCE): RunningCli {
  const [program, ...rest] = command;
  const child = spawn(program!, [...rest, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: "1" } });
  let stderr = "";
  child.stderr!.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = once(child, "exit").then(([code]) => ({ code: code as number | null, stderr }));
  return { child, exited, stderr: () => stderr };
}

export async function waitFor(predicate: () => boolean, what: string, limitMs = 60_000): Promise<void> {
  return waitForCondition(predicate, what, limitMs);
}

/** The `airstrap dns-worker` children of a process. */
export function workerPidsOf(parent: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (ppid === parent && cmdline.includes("dns-worker")) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids.sort((a, b) => a - b);
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `fn` while every process of `all` but `only` is stopped (SIGSTOP): whatever arrives on the
 * shared socket meanwhile is read by `only`.
 */
export async function withOnly<T>(all: number[], only: number, fn: () => Promise<T>): Promise<T> {
  const paused = all.filter((pid) => pid !== only);
  for (const pid of paused) process.kill(pid, "SIGSTOP");
  try {
    return await fn();
  } finally {
    for (const pid of paused) process.kill(pid, "SIGCONT");
  }
}

/** Sum of every sample of one metric family in a Prometheus text page. */
export function metricSum(page: string, name: string): number {
  return page
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0);
}
