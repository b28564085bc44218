import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Whether the skopeo binary exists (tests skip with a reason when it does not). */
export async function hasSkopeo(): Promise<boolean> {
  try {
    await run("skopeo", ["--version"]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs the real skopeo with a policy that accepts anything (test images are unsigned) and
 * TLS verification off unless the caller passes its own flags. Returns stdout; throws with
 * stderr on failure.
 */
export async function skopeo(args: string[], options: { timeoutMs?: number } = {}): Promise<string> {
  try {
    const { stdout } = await run("skopeo", ["--insecure-policy", ...args], {
      timeout: options.timeoutMs ?? 120_000,
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, HOME: process.env.HOME ?? "/root" },
    });
    return stdout;
  } catch (error) {
    const failure = error as { stderr?: string; message: string };
    throw new Error(`skopeo ${args.join(" ")} failed: ${failure.stderr || failure.message}`);
  }
}

/** skopeo copy between two transports, plain HTTP registries allowed. */
export function skopeoCopy(source: string, destination: string, extra: string[] = []): Promise<string> {
  return skopeo(["copy", "--src-tls-verify=false", "--dest-tls-verify=false", ...extra, source, destination]);
}
