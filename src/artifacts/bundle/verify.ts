import type { Events } from "../../events.js";
import type { BundleHead } from "./format.js";
import { checkPartSizes } from "./part-check.js";
import { ByteSource, resolveBundleFiles } from "./parts.js";
import { bundleProgress } from "./progress.js";
import { readHead, walkEntries } from "./reader.js";
import type { SignerTrust } from "./trust.js";

export interface VerifiedBundle {
  head: BundleHead;
  parts: string[];
  bytes: number;
}

/**
 * Reads the whole bundle once, in order, checking every byte against the signed index. Memory
 * stays at a couple of 1 MiB buffers whatever the size. Throws BundleDamageError naming the entry
 * and the part at the first difference.
 */
export async function verifyBundle(
  args: readonly string[],
  trust: SignerTrust,
  events: Events,
): Promise<VerifiedBundle> {
  const files = await resolveBundleFiles(args);
  const present = files.paths.filter((p): p is string => p !== undefined);
  const source = new ByteSource(present);
  try {
    const head = await readHead(source, files, trust);
    await checkPartSizes(files, head);
    const total = head.layout.totalSize;
    await walkEntries(source, files, head, {
      begin: async () => true,
      data: async () => {},
      end: async () => {},
      fail: async () => {},
      progress: bundleProgress(events, "verified", total),
    });
    return { head, parts: present, bytes: total };
  } finally {
    await source.close();
  }
}
