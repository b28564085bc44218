import { realpath, stat } from "node:fs/promises";
import { join, sep } from "node:path";
import type { AssetSource } from "./config.js";

/**
 * Which file an /assets/ request means. The name is decoded segment by segment; empty, "." and ".."
 * segments, backslashes and NULs are refused outright, and a folder's files are reached only when
 * their real path (symlinks followed) stays inside the folder. Folders are never listed.
 */
export type AssetLookup = { ok: true; path: string } | { ok: false; status: 403 | 404; problem: string };

export async function resolveAsset(source: AssetSource, encodedName: string): Promise<AssetLookup> {
  const segments = decodeSegments(encodedName);
  if (segments === undefined) return { ok: false, status: 403, problem: "path refused (traversal or odd characters)" };
  const name = segments.join("/");
  if (source.kind === "resolver") {
    const path = await source.resolve(name);
    return path === undefined ? { ok: false, status: 404, problem: "no such asset" } : { ok: true, path };
  }
  let root: string;
  let path: string;
  try {
    root = await realpath(source.path);
    path = await realpath(join(root, ...segments));
  } catch {
    return { ok: false, status: 404, problem: "no such asset" };
  }
  if (!path.startsWith(root + sep)) return { ok: false, status: 403, problem: "path leads outside the assets folder" };
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) return { ok: false, status: 404, problem: "no such asset" };
  return { ok: true, path };
}

function decodeSegments(encodedName: string): string[] | undefined {
  const segments: string[] = [];
  for (const raw of encodedName.split("/")) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (segment === "" || segment === "." || segment === ".." || /[\\/\0]/.test(segment)) return undefined;
    segments.push(segment);
  }
  return segments;
}
