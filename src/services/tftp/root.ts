import { constants, type promises as fsPromises } from "node:fs";
import { open, realpath } from "node:fs/promises";
import { sep } from "node:path";
import { ERROR_CODE } from "./wire.js";

/**
 * Confinement to the served folder. The requested name is checked as text first (pure): no
 * absolute path, no "..", no backslash. Then the real path (symlinks resolved) must still lie
 * inside the real root, and what is opened must be a regular file.
 */

export interface Refusal {
  code: number;
  message: string;
}

export interface OpenedFile {
  handle: fsPromises.FileHandle;
  size: number;
  /** The path inside the root, as served (for events). */
  name: string;
}

/** The path segments of a requested file name, or why it is refused. Pure. */
export function requestedSegments(filename: string): string[] | Refusal {
  const refused = { code: ERROR_CODE.accessViolation, message: "access violation" };
  // Backslashes: a Windows-style "..\\" or "\\absolute" must not slip past the "/" checks.
  if (filename.startsWith("/") || filename.includes("\\") || filename.includes("\0")) return refused;
  const segments = filename.split("/").filter((segment) => segment !== "" && segment !== ".");
  if (segments.length === 0) return { code: ERROR_CODE.fileNotFound, message: "file not found" };
  if (segments.includes("..")) return refused;
  return segments;
}

export async function openInsideRoot(realRoot: string, filename: string): Promise<OpenedFile | Refusal> {
  const segments = requestedSegments(filename);
  if (!Array.isArray(segments)) return segments;
  let real: string;
  try {
    real = await realpath([realRoot, ...segments].join(sep));
  } catch (error) {
    return refusalFor(error);
  }
  if (!real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep)) {
    return { code: ERROR_CODE.accessViolation, message: "access violation" };
  }
  let handle: fsPromises.FileHandle;
  try {
    // O_NOFOLLOW: the last component cannot have become a symlink since realpath looked at it.
    handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    return refusalFor(error);
  }
  const stats = await handle.stat();
  if (!stats.isFile()) {
    await handle.close();
    return { code: ERROR_CODE.fileNotFound, message: "file not found" };
  }
  return { handle, size: stats.size, name: segments.join("/") };
}

function refusalFor(error: unknown): Refusal {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ENOTDIR") return { code: ERROR_CODE.fileNotFound, message: "file not found" };
  if (code === "EACCES" || code === "EPERM" || code === "ELOOP") {
    return { code: ERROR_CODE.accessViolation, message: "access violation" };
  }
  return { code: ERROR_CODE.notDefined, message: "cannot read the file" };
}
