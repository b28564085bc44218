import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export async function hasPodman(): Promise<boolean> {
  try {
    await run("podman", ["--version"]);
    return true;
  } catch {
    return false;
  }
}

/** podman with its own storage (vfs) under a temp dir, so tests never touch the machine's images. */
export async function isolatedPodman(t: { after(fn: () => unknown): void }) {
  const dir = await mkdtemp(join(tmpdir(), "airstrap-podman-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const base = [
    "--root",
    join(dir, "root"),
    "--runroot",
    join(dir, "run"),
    "--storage-driver",
    "vfs",
    "--events-backend",
    "file",
    "--cgroup-manager",
    "cgroupfs",
  ];
  return async (args: string[]): Promise<string> => {
    try {
      const { stdout } = await run("podman", [...base, ...args], {
        timeout: 120_000,
        env: { ...process.env, XDG_RUNTIME_DIR: join(dir, "xdg"), HOME: dir },
      });
      return stdout;
    } catch (error) {
      const failure = error as { stderr?: string; message: string };
      throw new Error(`podman ${args.join(" ")} failed: ${failure.stderr || failure.message}`);
    }
  };
}
