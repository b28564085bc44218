import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/**
 * Builds a single-file executable of airstrap (or of another entry point) from the current source
 * into a temporary folder, with the same scripts as `make dist` (so what the tests put on lab hosts
 * is what ships) but without touching build/ or dist/. `version` overrides what it reports (default:
 * package.json's), so a test can hold an older and a newer airstrap.
 */
export function buildSingleExecutable(
  entry = "src/cli/main.ts",
  options: { version?: string } = {},
): { path: string; remove(): void } {
  const repo = resolve(import.meta.dirname, "../..");
  const dir = mkdtempSync(join(tmpdir(), "airstrap-sea-"));
  const run = (file: string, args: string[]) =>
    execFileSync(file, args, { cwd: repo, stdio: "pipe", timeout: 180_000 });
  const bundle = join(dir, "airstrap.cjs");
  const binary = join(dir, "airstrap");
  const version = options.version === undefined ? [] : ["--version", options.version];
  run(process.execPath, ["scripts/build.mjs", "--entry", entry, "--outfile", bundle, ...version]);
  run("bash", ["scripts/dist.sh", binary, bundle]);
  return { path: binary, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
