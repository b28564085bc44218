import { OperatorError } from "../errors.js";

const HINTS: Record<string, string> = {
  ENOENT: "check that the folder exists (is the USB disk mounted?)",
  ENOTDIR: "a part of the path is a file, not a folder",
  EISDIR: "the path names a folder; name a file",
  EACCES: "check the permissions, or run as a user who may write there",
  EPERM: "check the permissions, or run as a user who may write there",
  EROFS: "the filesystem is mounted read-only",
  ENOSPC: "free space on that filesystem, or write elsewhere",
  EDQUOT: "the disk quota is exhausted; free space or write elsewhere",
  EIO: "the disk reported an I/O error: check the medium",
};

/** Filesystem faults the operator can fix (missing folder, permissions, full disk) as OperatorErrors; others unchanged. */
export function operatorFsError(error: unknown, action: string): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === undefined || !(code in HINTS)) return error;
  const path = (error as NodeJS.ErrnoException).path;
  return new OperatorError(`cannot ${action}${path ? ` (${path})` : ""}: ${code}`, {
    hint: HINTS[code]!,
    cause: error,
  });
}
