import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** Debian's docker-registry (Distribution 2.8) on loopback, with its own temp storage. */
export interface DockerRegistry {
  host: string;
  url: string;
  child: ChildProcess;
  root: string;
  stop(): Promise<void>;
}

export async function hasDockerRegistry(): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn("docker-registry", ["--version"], { stdio: "ignore" });
    child.on("error", () => resolve(false));
    child.on("exit", (code) => resolve(code === 0));
  });
}

export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** With `htpasswd` (bcrypt entries), every request needs Basic credentials from that file. */
export async function startDockerRegistry(
  t: { after(fn: () => unknown): void },
  options: { htpasswd?: string } = {},
): Promise<DockerRegistry> {
  const root = await mkdtemp(join(tmpdir(), "airstrap-distribution-"));
  const port = await freePort();
  const config = join(root, "config.yml");
  await writeFile(
    config,
    [
      "version: 0.1",
      "log: { level: error }",
      "storage:",
      `  filesystem: { rootdirectory: ${join(root, "data")} }`,
      "  delete: { enabled: true }",
      `http: { addr: "127.0.0.1:${port}" }`,
      ...(options.htpasswd ? [`auth: { htpasswd: { realm: airstrap-test, path: ${options.htpasswd} } }`] : []),
      "",
    ].join("\n"),
  );
  const child = spawn("docker-registry", ["serve", config], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
    await rm(root, { recursive: true, force: true });
  };
  t.after(stop);
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 600; attempt++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
    const up = await fetch(`${url}/v2/`).then(
      (res) => res.status === 200 || (options.htpasswd !== undefined && res.status === 401),
      () => false,
    );
    if (up) return { host: `127.0.0.1:${port}`, url, child, root, stop };
    await sleep(50);
  }
  throw new Error(`docker-registry did not answer: ${stderr}`);
}
