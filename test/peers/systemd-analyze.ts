import { execFile } from "node:child_process";
import { chmod, cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * `systemd-analyze verify` for units that will be installed on a node. The units run binaries that
 * exist only there, so the check runs against a scratch root holding the system's own units plus
 * an executable stand-in at each of those paths (`binariesOnHost`).
 */
export async function verifyUnits(
  units: Record<string, string>,
  binariesOnHost: string[],
): Promise<{ ok: boolean; output: string }> {
  const root = await mkdtemp(join(tmpdir(), "airstrap-units-"));
  try {
    await mkdir(join(root, "usr/lib/systemd"), { recursive: true });
    await cp("/lib/systemd/system", join(root, "usr/lib/systemd/system"), {
      recursive: true,
      dereference: false,
      verbatimSymlinks: true,
    });
    for (const binary of binariesOnHost) {
      await mkdir(join(root, dirname(binary)), { recursive: true });
      await writeFile(join(root, binary), "#!/bin/sh\n");
      await chmod(join(root, binary), 0o755);
    }
    await mkdir(join(root, "etc/systemd/system"), { recursive: true });
    for (const [name, content] of Object.entries(units))
      await writeFile(join(root, "etc/systemd/system", name), content);
    try {
      const { stdout, stderr } = await run("systemd-analyze", ["verify", `--root=${root}`, ...Object.keys(units)], {
        env: { ...process.env, SYSTEMD_LOG_LEVEL: "notice" },
      });
      return { ok: true, output: stdout + stderr };
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string; message: string };
      return { ok: false, output: (e.stdout ?? "") + (e.stderr ?? e.message) };
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
