import { chmod, cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { runChecker } from "./run-checker.js";

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
    return await runChecker("systemd-analyze", ["verify", `--root=${root}`, ...Object.keys(units)], {
      ...process.env,
      SYSTEMD_LOG_LEVEL: "notice",
    });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
