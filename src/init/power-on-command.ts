import { spawn } from "node:child_process";
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
