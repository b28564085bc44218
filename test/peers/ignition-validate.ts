import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runChecker } from "./run-checker.js";
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
    return await runChecker(IGNITION_VALIDATE, [file]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
