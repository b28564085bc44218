import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const IGNITION_VALIDATE = "/usr/bin/ignition-validate";

export const hasIgnitionValidate = () => existsSync(IGNITION_VALIDATE);

/**
 * Debian's `ignition-validate` (package ignition, 2.14) on one config: exit 0 and no output is a
 * config Ignition accepts. 2.14 knows spec 3.4.0 only under its development name
 * 3.4.0-experimental (it rejects "3.4.0" as an unsupported version), so `asExperimental` checks
 * a 3.4.0 config's body under that name; the version string itself is then checked by our schema.
 */
export async function ignitionValidate(
  config: string,
  options: { asExperimental?: boolean } = {},
): Promise<{ ok: boolean; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), "airstrap-ign-"));
  try {
    const file = join(dir, "config.ign");
    const body = options.asExperimental
      ? JSON.stringify({
          ...JSON.parse(config),
          ignition: { ...JSON.parse(config).ignition, version: "3.4.0-experimental" },
        })
      : config;
    await writeFile(file, body);
    try {
      const { stdout, stderr } = await run(IGNITION_VALIDATE, [file]);
      return { ok: true, output: stdout + stderr };
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string; message: string };
      return { ok: false, output: (e.stdout ?? "") + (e.stderr ?? e.message) };
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
