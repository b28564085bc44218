/**
 * The two servers the registry benchmarks compare: `airstrap registry serve` run by the single
 * executable `make dist` ships (scripts/dist.sh around the CLI bundle), the program a node's
 * registry unit starts, so its memory is what a node's registry has; and Debian's docker-registry
 * (Distribution 2.8). Both on plain HTTP on 127.0.0.1, so neither pays for TLS.
 *
 * Each executable is dropped from the page cache before it starts, so both start as after a boot.
 * A file just written sits in the page cache in large folios, and a process mapping it counts
 * whole folios around every page it touches as resident: the freshly built executable idled at
 * 67 MB, and at 56 MB once its pages had been read back from disk (measured with /proc/PID/smaps
 * and pagemap: the difference is all in the executable's read-only mappings).
 */
import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { startDockerRegistry } from "../../test/peers/docker-registry.js";

const run = promisify(execFile);

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

/**
 * Builds the shipped executable into `dir` as `make dist` does (scripts/build.mjs, then
 * scripts/dist.sh, which needs the Node version pinned in .node-version); returns its path.
 */
export async function buildRegistryExecutable(dir: string): Promise<string> {
  const bundle = join(dir, "airstrap.cjs");
  const executable = join(dir, "airstrap");
  const repo = new URL("../..", import.meta.url).pathname;
  await run(process.execPath, ["scripts/build.mjs", "--entry", "src/cli/main.ts", "--outfile", bundle], { cwd: repo });
  await run("scripts/dist.sh", [executable, bundle], { cwd: repo });
  return executable;
}

/** Drops `file` from the page cache (dd's documented way: nocache with count=0 means all of it). */
async function dropFromPageCache(file: string): Promise<void> {
  await run("dd", [`if=${file}`, "iflag=nocache", "count=0", "status=none"]);
}

/**
 * Starts `name` with a fresh store (airstrap's at `root`); with `htpasswd`, both servers ask for
 * its credentials. `nodeFlags` go to the executable's Node runtime through NODE_OPTIONS (V8 flags
 * among them make it reject its code cache, which costs memory of its own).
 */
export async function startServer(
  name: ServerName,
  options: { executable: string; root: string; htpasswd?: string; nodeFlags?: string[] },
  scope: Scope,
): Promise<BenchServer> {
  if (name === "distribution") {
    const { stdout } = await run("sh", ["-c", "command -v docker-registry"]);
    await dropFromPageCache(stdout.trim());
    const started = await startDockerRegistry(scope, options.htpasswd ? { htpasswd: options.htpasswd } : {});
    return { host: started.host, pid: started.child.pid! };
  }
  const args = ["registry", "serve", "--root", options.root, "--listen", "127.0.0.1:0"];
  if (options.htpasswd) args.push("--htpasswd", options.htpasswd);
  await dropFromPageCache(options.executable);
  const env = { ...process.env, NODE_OPTIONS: (options.nodeFlags ?? []).join(" ") };
  const child = spawn(options.executable, args, { stdio: ["ignore", "ignore", "pipe"], env });
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
