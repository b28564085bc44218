import { UsageError } from "../../errors.js";

const UNITS: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** "4G", "3900M", "1048576", "2GiB" → bytes (binary units). Pure. */
export function parseSize(text: string, flag = "--split"): number {
  const match = /^(\d+)\s*([KMGT]?)(i?B)?$/i.exec(text.trim());
  if (!match) throw new UsageError(`${flag} ${text}: not a size`, { hint: "for example 4G, 3900M or 1048576 (bytes)" });
  const bytes = Number(match[1]) * UNITS[match[2]!.toUpperCase()]!;
  if (!Number.isSafeInteger(bytes) || bytes < 1024 * 1024) {
    throw new UsageError(`${flag} ${text}: parts must be at least 1M`, {
      hint: "FAT32 disks take files up to 4G-1; use --split 4095M",
    });
  }
  return bytes;
}
