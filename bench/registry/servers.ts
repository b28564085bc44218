/**
 * The two servers the registry benchmarks compare: `airstrap registry serve` from the CLI bundle
 * scripts/build.mjs makes, the one the single-file executable wraps (no tsx in the process, so its
 * memory is what a node's registry unit has), and Debian's docker-registry (Distribution 2.8).
 * Both on plain HTTP on 127.0.0.1, so neither pays for TLS.
 */
import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
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

/** Builds the shipped CLI bundle into `dir` with scripts/build.mjs; returns its path. */
export async function bundleRegistry(dir: string): Promise<string> {
  const bundle = join(dir, "airstrap.cjs");
  const repo = new URL("../..", import.meta.url).pathname;
  await promisify(execFile)(
    process.execPath,
    ["scripts/build.mjs", "--entry", "src/cli/main.ts", "--outfile", bundle],
    {
      cwd: repo,
    },
  );
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
  const args = [...(options.nodeFlags ?? []), options.bundle, "registry", "serve", "--root", options.root];
  args.push("--listen", "127.0.0.1:0");
  if (options.htpasswd) args.push("--htpasswd", options.htpasswd);
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
