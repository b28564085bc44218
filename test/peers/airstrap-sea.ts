import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/**
 * Builds a single-file executable of airstrap (or of another entry point) from the current source
 * into a temporary folder, as scripts/dist.sh does but without touching build/ or dist/, for tests
 * that run it on lab hosts.
 */
export function buildSingleExecutable(entry = "src/cli/main.ts"): { path: string; remove(): void } {
  const repo = resolve(import.meta.dirname, "../..");
  const dir = mkdtempSync(join(tmpdir(), "airstrap-sea-"));
  const run = (file: string, args: string[]) =>
    execFileSync(file, args, { cwd: repo, stdio: "pipe", timeout: 120_000 });
  run(join(repo, "node_modules/.bin/esbuild"), [
    entry,
    "--bundle",
    "--platform=node",
    "--format=cjs",
    "--target=node20",
    "--log-level=warning",
    // ssh2's optional native addons: it falls back to JavaScript when they cannot be loaded.
    "--external:*.node",
    `--outfile=${join(dir, "airstrap.cjs")}`,
  ]);
  writeFileSync(
    join(dir, "sea-config.json"),
    JSON.stringify({ main: join(dir, "airstrap.cjs"), output: join(dir, "blob"), disableExperimentalSEAWarning: true }),
  );
  run(process.execPath, ["--experimental-sea-config", join(dir, "sea-config.json")]);
  const binary = join(dir, "airstrap");
  copyFileSync(process.execPath, binary);
  try {
    run("strip", ["--strip-all", binary]);
  } catch {}
  run(join(repo, "node_modules/.bin/postject"), [
    binary,
    "NODE_SEA_BLOB",
    join(dir, "blob"),
    "--sentinel-fuse",
    "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2",
  ]);
  return { path: binary, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
