import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { OperatorError } from "../../errors.js";
import type { Digest } from "../../store/digest.js";
import { type BundleIndex, bundleIndexSchema } from "./format.js";
import { ByteSource, resolveBundleFiles } from "./parts.js";
import { readHead } from "./reader.js";

/** The base of a differential bundle: an earlier bundle (its first part is enough) or its FILE.index.json. */
export async function readBaseIndex(path: string): Promise<{ index: BundleIndex; digest: Digest }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch {
    bytes = Buffer.alloc(0);
  }
  if (bytes.length > 0 && bytes[0] === 0x7b) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString("utf8"));
    } catch {
      throw new OperatorError(`--since ${path}: not valid JSON`, { hint: "pass the old bundle or its .index.json" });
    }
    const result = bundleIndexSchema.safeParse(parsed);
    if (!result.success) throw new OperatorError(`--since ${path}: not an airstrap bundle index`);
    return { index: result.data as BundleIndex, digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}` };
  }
  const files = await resolveBundleFiles([path]);
  const source = new ByteSource(files.paths.filter((p): p is string => p !== undefined).slice(0, 1));
  try {
    // Only what to leave out is read from the base, so any signer will do.
    const head = await readHead(source, files, { kind: "any", why: "base of a differential bundle" });
    return { index: head.index, digest: head.indexDigest };
  } finally {
    await source.close();
  }
}
