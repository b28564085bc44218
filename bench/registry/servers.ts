/**
 * The two servers the registry benchmarks compare: airstrap's registry bundled by esbuild like the
 * shipped executable (no tsx in the process, so its memory is the registry's own), and Debian's
 * docker-registry (Distribution 2.8). Both on plain HTTP on 127.0.0.1, so neither pays for TLS.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { build } from "esbuild";
import { startDockerRegistry } from "../../test/peers/docker-registry.js";

export type ServerName = "airstrap" | "distribution";
export interface BenchServer {
  host: string;
  pid: number;
}
type Scope = { after(fn: () => unknown): void };

/** What a round started (servers, containerd), stopped in reverse order by `cleanup`. */
export function cleanupScope(): { scope: Scope; cleanup(): Promise<void> } {
  const cleanups: (() => unknown)[] = [];
  return {
    scope: { after: (fn) => cleanups.push(fn) },
    async cleanup() {
      for (const fn of cleanups.reverse()) await fn();
      cleanups.length = 0;
    },
  };
}

/** Bundles bench/registry/serve.ts into `dir`; returns the bundle's path. */
export async function bundleRegistry(dir: string): Promise<string> {
  const bundle = join(dir, "serve.cjs");
  await build({
    entryPoints: [new URL("./serve.ts", import.meta.url).pathname],
    outfile: bundle,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    logLevel: "warning",
  });
  return bundle;
}

/**
 * Starts `name` with a fresh store (airstrap's at `root`); with `htpasswd`, both servers ask for
 * its credentials. `nodeFlags` are what the systemd unit gives the registry's Node runtime.
 */
export async function startServer(
  name: ServerName,
  options: { bundle: string; root: string; htpasswd?: string; nodeFlags?: string[] },
  scope: Scope,
): Promise<BenchServer> {
  if (name === "distribution") {
    const started = await startDockerRegistry(scope, options.htpasswd ? { htpasswd: options.htpasswd } : {});
    return { host: started.host, pid: started.child.pid! };
  }
  const args = [...(options.nodeFlags ?? []), options.bundle, options.root, "127.0.0.1:0"];
  if (options.htpasswd) args.push(options.htpasswd);
  const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  scope.after(async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
    await exited;
  });
  return new Promise((resolve, reject) => {
    let output = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /registry listening on (\S+?)[ ,]/.exec(output);
      if (match) resolve({ host: match[1]!, pid: child.pid! });
    });
    child.once("exit", () => reject(new Error(`airstrap registry exited: ${output}`)));
  });
}
