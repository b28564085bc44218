import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class CommandFailedError extends Error {
  constructor(
    readonly command: string[],
    readonly result: CommandResult,
  ) {
    const detail = (result.stderr.trim() || result.stdout.trim()).split("\n").slice(-5).join("\n");
    super(`${command.join(" ")} exited with ${result.code}${detail ? `: ${detail}` : ""}`);
    this.name = "CommandFailedError";
  }
}

/** Runs a command to completion and captures its output; never goes through a shell. */
export function runCommand(
  command: string[],
  options: { input?: string; allowFailure?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<CommandResult> {
  const [file, ...args] = command;
  if (file === undefined) throw new Error("runCommand: empty command");
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      env: options.env ?? process.env,
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const result = {
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(stdout).toString("utf8"),
        stderr: Buffer.concat(stderr).toString("utf8"),
      };
      if (result.code !== 0 && !options.allowFailure) reject(new CommandFailedError(command, result));
      else resolve(result);
    });
    if (child.stdin) {
      // A command may exit before reading its input; that is its answer, not our error.
      child.stdin.on("error", () => {});
      child.stdin.end(options.input);
    }
  });
}

/** True when a process with this PID exists and is not a zombie waiting to be reaped. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Waits until the process is gone, up to timeoutMs; returns whether it went. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

/** The process's command line, or undefined when it is gone; guards against a recycled PID. */
export function processCommandLine(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return raw.split("\0").filter((part) => part !== "");
  } catch {
    return undefined;
  }
}

/** PIDs of live processes whose command line satisfies the test (a scan of /proc). */
export function findProcesses(matches: (commandLine: string[]) => boolean): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    const pid = Number.parseInt(entry, 10);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const commandLine = processCommandLine(pid);
    if (commandLine && commandLine.length > 0 && matches(commandLine)) pids.push(pid);
  }
  return pids;
}
