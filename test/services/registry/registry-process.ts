import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("./registry-cli.ts", import.meta.url));

export interface RegistryProcess {
  child: ChildProcess;
  base: string;
  host: string;
  /** SIGKILL, then wait until the process is gone. */
  kill(): Promise<void>;
}

/** `airstrap registry serve` as a separate process, so a test can kill -9 it. */
export async function spawnRegistry(args: string[], t: { after(fn: () => unknown): void }): Promise<RegistryProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, "registry", "serve", ...args], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  };
  t.after(kill);
  const host = await new Promise<string>((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`registry did not start: ${output}`)), 30_000);
    child.stderr!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /registry listening on (\S+?)[ ,]/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`registry exited with ${code}: ${output}`));
    });
  });
  return { child, host, base: `http://${host}`, kill };
}
