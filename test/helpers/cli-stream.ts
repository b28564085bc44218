import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import type { CliResult } from "./cli.js";
import { REPO } from "./cli.js";

const TSX = import.meta.resolve("tsx");

/** One line of `--output json`: an event as the CLI printed it. */
export interface JsonEvent {
  kind: string;
  level?: string;
  host?: string;
  phase?: string;
  message: string;
  detail?: Record<string, unknown>;
}

/** The events in a `--output json` run's stdout, in order. */
export function jsonEvents(stdout: string): JsonEvent[] {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as JsonEvent);
}

export interface StreamingRun {
  child: ChildProcess;
  /** Resolves when the process has exited, with everything it printed. */
  done: Promise<CliResult>;
}

/**
 * Runs the CLI from source like runAirstrap, but hands every JSON event on stdout to `onEvent`
 * as it arrives, so a test can act at a precise point of a run (e.g. pause it with SIGSTOP and
 * cause a fault). The process is killed after `timeoutMs`, so a hung run cannot hang the test.
 */
export function streamAirstrap(
  args: string[],
  options: { cwd: string; timeoutMs: number; onEvent: (event: JsonEvent, child: ChildProcess) => void },
): StreamingRun {
  const child = spawn(process.execPath, ["--import", TSX, join(REPO, "src/cli/main.ts"), ...args], {
    cwd: options.cwd,
    env: { ...process.env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
  let stdout = "";
  let stderr = "";
  let pending = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) if (line.startsWith("{")) options.onEvent(JSON.parse(line) as JsonEvent, child);
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr: signal ? `${stderr}\n(killed by ${signal})` : stderr });
    });
  });
  return { child, done };
}
