import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * A real containerd in the foreground with its own root, state and socket under a temp dir
 * (never the system service); the CRI plugin is off, since only image pulls are exercised.
 */
export interface Containerd {
  socket: string;
  dir: string;
  ctr(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export async function hasContainerd(): Promise<boolean> {
  try {
    await run("containerd", ["--version"]);
    await run("ctr", ["--version"]);
    return true;
  } catch {
    return false;
  }
}

/**
 * `netns`: run containerd inside that network namespace (through nsenter, which — unlike
 * `ip netns exec` — leaves /sys and its cgroup mounts alone), so `ctr run --net-host` puts a
 * container on the namespace's network, as a node's host network.
 */
export async function startContainerd(
  t: { after(fn: () => unknown): void },
  options: { netns?: string } = {},
): Promise<Containerd> {
  const dir = await mkdtemp(join(tmpdir(), "airstrap-ctrd-"));
  const socket = join(dir, "c.sock");
  await mkdir(join(dir, "root"));
  await mkdir(join(dir, "state"));
  const config = join(dir, "config.toml");
  await writeFile(
    config,
    [
      "version = 2",
      `root = ${JSON.stringify(join(dir, "root"))}`,
      `state = ${JSON.stringify(join(dir, "state"))}`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]',
      "[grpc]",
      `  address = ${JSON.stringify(socket)}`,
      "[ttrpc]",
      `  address = ${JSON.stringify(join(dir, "t.sock"))}`,
      "",
    ].join("\n"),
  );
  const command = options.netns
    ? ["nsenter", `--net=/var/run/netns/${options.netns}`, "containerd", "--config", config]
    : ["containerd", "--config", config];
  const child: ChildProcess = spawn(command[0]!, command.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-8000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // Containers outlive containerd (their shims do not exit with it): end each one first.
  const removeContainers = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const address = ["--address", socket];
    const listed = await run("ctr", [...address, "containers", "ls", "-q"]).catch(() => ({ stdout: "" }));
    for (const id of listed.stdout.split("\n").filter(Boolean)) {
      await run("ctr", [...address, "tasks", "kill", "-s", "SIGKILL", id]).catch(() => undefined);
      await run("ctr", [...address, "tasks", "rm", "-f", id]).catch(() => undefined);
      await run("ctr", [...address, "containers", "rm", id]).catch(() => undefined);
    }
  };
  const stop = async () => {
    await removeContainers();
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
    await run("umount", ["-R", join(dir, "root")]).catch(() => undefined);
    await run("umount", ["-R", join(dir, "state")]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  t.after(stop);
  const ctr = async (args: string[]) => {
    try {
      const { stdout } = await run("ctr", ["--address", socket, ...args], { timeout: 120_000 });
      return stdout;
    } catch (error) {
      const failure = error as { stderr?: string; message: string };
      throw new Error(`ctr ${args.join(" ")} failed: ${failure.stderr || failure.message}\ncontainerd log:\n${log}`);
    }
  };
  for (let attempt = 0; attempt < 600; attempt++) {
    if (child.exitCode !== null) throw new Error(`containerd exited: ${log}`);
    const up = await run("ctr", ["--address", socket, "version"]).then(
      () => true,
      () => false,
    );
    if (up) return { socket, dir, ctr, stop };
    await sleep(50);
  }
  throw new Error(`containerd did not start: ${log}`);
}
