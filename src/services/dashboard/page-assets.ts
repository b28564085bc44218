import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

/**
 * The page's files (page/files.json names them: ours under page/, the chart library from its
 * package). Run from source, they are read here; scripts/build.mjs replaces this module in the
 * bundle by one holding their text, so the executable serves them without any file beside it.
 */
export interface PageAsset {
  /** Where the page asks for it. */
  path: string;
  type: string;
  text: string;
}

interface ListedFile {
  path: string;
  type: string;
  file?: string;
  package?: string;
}

export function pageAssets(): PageAsset[] {
  const folder = join(import.meta.dirname, "page");
  const resolve = createRequire(import.meta.url).resolve;
  const listed = JSON.parse(readFileSync(join(folder, "files.json"), "utf8")) as ListedFile[];
  return listed.map((entry) => ({
    path: entry.path,
    type: entry.type,
    text: readFileSync(entry.file === undefined ? resolve(entry.package as string) : join(folder, entry.file), "utf8"),
  }));
}
