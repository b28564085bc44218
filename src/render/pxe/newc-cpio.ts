/**
 * Pure: a cpio archive in the "newc" format, the one the Linux kernel unpacks as an initramfs
 * (it reads no other; npm's cpio packers write the older odc one). Several archives given to one
 * kernel are unpacked in order over each other, which is how an extra initrd adds files to an
 * OS's own. Every entry is owned by root; names are relative ("etc/…").
 *
 * The archive is returned as a string of one byte per character: headers are ASCII, padding is NUL,
 * and the contents must be ASCII too (checked), so writing it as UTF-8 gives the exact bytes.
 */
export type CpioEntry =
  | { kind: "directory"; path: string; mode: number }
  | { kind: "file"; path: string; mode: number; content: string }
  | { kind: "symlink"; path: string; target: string };

const MAGIC = "070701";
const TRAILER = "TRAILER!!!";
const TYPE_BITS = { directory: 0o040000, file: 0o100000, symlink: 0o120000 } as const;

export function renderNewcCpio(entries: readonly CpioEntry[]): string {
  let archive = "";
  let inode = 1;
  for (const entry of entries) {
    const data = entry.kind === "file" ? entry.content : entry.kind === "symlink" ? entry.target : "";
    const permissions = entry.kind === "symlink" ? 0o777 : entry.mode;
    if (/^\/|(^|\/)\.\.?(\/|$)/.test(entry.path))
      throw new Error(`cpio entry ${entry.path}: the path must be relative and plain`);
    requireAscii(entry.path, data);
    archive += record(
      entry.path,
      TYPE_BITS[entry.kind] | permissions,
      data,
      inode++,
      entry.kind === "directory" ? 2 : 1,
    );
  }
  return archive + record(TRAILER, 0, "", 0, 1);
}

/** One header (13 eight-digit hex fields), the NUL-ended name and the data, each padded to 4 bytes. */
function record(name: string, mode: number, data: string, inode: number, links: number): string {
  const fields = [inode, mode, 0, 0, links, 0, data.length, 0, 0, 0, 0, name.length + 1, 0];
  const header = MAGIC + fields.map((field) => field.toString(16).padStart(8, "0")).join("");
  return pad(`${header}${name}\0`) + pad(data);
}

function pad(text: string): string {
  return text + "\0".repeat((4 - (text.length % 4)) % 4);
}

function requireAscii(path: string, data: string): void {
  if (/[^\x00-\x7f]/.test(path + data))
    throw new Error(`cpio entry ${path}: only ASCII paths and contents are supported`);
}
