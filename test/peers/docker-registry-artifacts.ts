import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Whether Debian's docker-registry (Distribution 2.8) is installed. */
export async function hasDockerRegistry(): Promise<boolean> {
  try {
    await run("docker-registry", ["--version"]);
    return true;
  } catch {
    return false;
  }
}

export interface DockerRegistry {
  /** host:port, on 127.0.0.1 */
  host: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Runs docker-registry on loopback over a fresh filesystem store, plain HTTP; without `token`
 * anyone may pull and push, with it clients need bearer tokens from that realm (as docker.io does).
 */
export async function startDockerRegistry(
  options: { token?: { realm: string; service: string; issuer: string; rootCertBundle: string } } = {},
): Promise<DockerRegistry> {
  const dir = await mkdtemp(join(tmpdir(), "airstrap-docker-registry-"));
  const port = await freePort();
  const config = [
    "version: 0.1",
    "log: { level: error }",
    `storage: { filesystem: { rootdirectory: ${join(dir, "data")} }, delete: { enabled: true } }`,
    `http: { addr: "127.0.0.1:${port}" }`,
    ...(options.token
      ? [
          `auth: { token: { realm: "${options.token.realm}", service: ${options.token.service}, issuer: ${options.token.issuer}, rootcertbundle: ${options.token.rootCertBundle} } }`,
        ]
      : []),
    "",
  ].join("\n");
  await writeFile(join(dir, "config.yml"), config);
  const child: ChildProcess = spawn("docker-registry", ["serve", join(dir, "config.yml")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const host = `127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    try {
      const response = await fetch(`http://${host}/v2/`);
      await response.body?.cancel();
      if (response.ok || (options.token && response.status === 401)) return { host, stop };
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  await stop();
  throw new Error(`docker-registry did not start on ${host}: ${stderr}`);
}
