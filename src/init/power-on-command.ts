import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { OperatorError } from "../errors.js";
import type { PlannedPxeHost } from "../plan/types.js";
import { powerOnEnvironment } from "./power-on.js";

export interface PowerOnResult {
  host: string;
  code: number;
  /** The command's last output lines (stdout and stderr), for the event. */
  output: string;
}

/** Runs the operator's power-on command through `sh -c` for one machine, with its details in the environment. */
export function runPowerOn(
  command: string,
  host: Pick<PlannedPxeHost, "name" | "mac" | "address" | "role">,
  timeoutMs: number,
): Promise<PowerOnResult> {
  return new Promise((resolve) => {
    const child = spawn("sh", ["-c", command], {
      env: { ...process.env, ...powerOnEnvironment(host) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString("utf8")).slice(-2000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    const done = (code: number) => {
      clearTimeout(timer);
      resolve({ host: host.name, code, output: output.trim().split("\n").slice(-5).join("\n") });
    };
    child.on("error", (error) => {
      output += error.message;
      done(127);
    });
    child.on("close", (code, signal) => done(code ?? (signal ? 128 : 1)));
  });
}

/**
 * A `--power-on` command needs `sh`, which airstrap's image does not carry: refused before the boot
 * services start, rather than every machine failing with ENOENT once they serve.
 */
export function requireShell(path = process.env.PATH ?? ""): void {
  const found = path
    .split(delimiter)
    .filter(Boolean)
    .some((dir) => {
      try {
        accessSync(join(dir, "sh"), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  if (!found) {
    throw new OperatorError(`--power-on needs a shell, and there is no sh on PATH (${path || "empty"})`, {
      hint: "airstrap's image has no shell: power the machines on by hand when init asks, or run init with --power-on from the single-file executable",
    });
  }
}
