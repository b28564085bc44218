import { randomBytes } from "node:crypto";
import { access, mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { OperatorError } from "../errors.js";
import type { Plan } from "../plan/types.js";
import { type RenderedFile, renderPlanJson } from "./host-files.js";
import type { GeneratedFile } from "./pxe/pxe-files.js";

const MARKER = ".airstrap-generated";

/**
 * Writes `DIR/plan.json`, `DIR/hosts/<host>/<absolute path>` for every rendered file, and the
 * other generated files (the Matchbox folder) at their paths in DIR, in folders only the owner can
 * enter. The new tree is built beside DIR (0700) and swapped in by rename, so DIR is never half
 * written; a DIR that airstrap did not write is never replaced.
 */
export async function writeGeneratedTree(
  outputDir: string,
  plan: Plan,
  files: Map<string, RenderedFile[]>,
  others: readonly GeneratedFile[] = [],
): Promise<number> {
  const target = resolve(outputDir);
  await assertReplaceable(target);
  const staging = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString("hex")}.tmp`);
  let count = 0;
  try {
    await mkdir(staging, { recursive: true, mode: 0o700 });
    await writeFile(join(staging, MARKER), "written by airstrap generate; the whole folder is replaced on every run\n");
    await writeFile(join(staging, "plan.json"), renderPlanJson(plan), { mode: 0o644 });
    for (const [host, hostFiles] of files) {
      for (const file of hostFiles) {
        const path = join(staging, "hosts", host, file.path);
        await mkdir(dirname(path), { recursive: true, mode: 0o755 });
        await writeFile(path, file.content, { mode: file.mode });
        count++;
      }
    }
    for (const file of others) {
      const path = join(staging, file.path);
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await writeFile(path, file.content, { mode: file.mode });
      count++;
    }
    const previous = `${staging}.old`;
    const hadPrevious = await exists(target);
    if (hadPrevious) await rename(target, previous);
    await rename(staging, target);
    if (hadPrevious) await rm(previous, { recursive: true, force: true });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return count;
}

async function assertReplaceable(target: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return;
    if (code === "ENOTDIR")
      throw new OperatorError(`${target} is a file`, { hint: "name a folder for the generated files with -o DIR" });
    throw error;
  }
  if (entries.length > 0 && !entries.includes(MARKER)) {
    throw new OperatorError(`${target} already holds files that airstrap did not write`, {
      hint: "name an empty or new folder with -o DIR; airstrap replaces the whole folder on every run",
    });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
