import { stat } from "node:fs/promises";
import { basename } from "node:path";
import { OperatorError } from "../../errors.js";
import { BundleDamageError } from "./damage.js";
import { type BundleHead, INDEX_ENTRY, partSizes, SIGNATURE_ENTRY } from "./format.js";
import type { BundleFiles } from "./parts.js";

/** Compares the parts on disk with the sizes the index implies; names a missing, short or long part. */
export async function checkPartSizes(files: BundleFiles, head: BundleHead): Promise<void> {
  const expected = partSizes(head.layout.totalSize, files.split ? head.index.partSize : undefined);
  if (files.split && head.index.partSize === undefined) {
    throw new OperatorError(`${files.name}: parts given, but this bundle was created as one file`, {
      hint: "pass the bundle file itself",
    });
  }
  // A split bundle whose parts were joined again (cat FILE.part* > FILE) is read as one file.
  for (let i = 0; i < Math.max(expected.length, files.paths.length); i++) {
    const path = files.paths[i];
    const want = expected[i];
    const label = files.split ? basename(`${files.name}.part${String(i).padStart(3, "0")}`) : basename(files.name);
    if (want === undefined) {
      throw new BundleDamageError(
        "extra-bytes",
        undefined,
        path,
        `the bundle has ${expected.length} parts; ${label} is not one of them`,
        "remove it",
      );
    }
    if (path === undefined) {
      throw new BundleDamageError(
        "missing-part",
        undefined,
        label,
        `part ${i} of ${expected.length} is missing`,
        "copy it from the connected side",
      );
    }
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch {
      throw new BundleDamageError("missing-part", undefined, path, "cannot be read", "copy it from the connected side");
    }
    if (size < want) {
      const offset = offsetOfPart(expected, i) + size;
      throw new BundleDamageError(
        "truncated",
        entryAt(head, offset),
        path,
        `truncated: ${size} bytes, expected ${want}`,
        "the copy is incomplete: copy this part again",
      );
    }
    if (size > want) {
      throw new BundleDamageError(
        "extra-bytes",
        undefined,
        path,
        `${size - want} bytes more than the ${want} expected`,
      );
    }
  }
}

function offsetOfPart(sizes: number[], part: number): number {
  let offset = 0;
  for (let i = 0; i < part; i++) offset += sizes[i]!;
  return offset;
}

/** Which entry a byte offset belongs to, for messages. */
export function entryAt(head: BundleHead, offset: number): string {
  const { layout, index } = head;
  if (offset < layout.signatureOffset) return INDEX_ENTRY;
  if (offset < (layout.entryOffsets[0] ?? layout.endOffset)) return SIGNATURE_ENTRY;
  for (let i = layout.entryOffsets.length - 1; i >= 0; i--) {
    if (offset >= layout.entryOffsets[i]!)
      return offset >= layout.endOffset ? "end of archive" : index.entries[i]!.path;
  }
  return "end of archive";
}

/** The part holding a byte offset of the stream. */
export function partAt(files: BundleFiles, offset: number, partSize: number | undefined): string | undefined {
  if (!files.split) return files.paths[0];
  if (partSize === undefined) return files.paths[0] ?? `${files.name}.part000`;
  const part = Math.floor(offset / partSize);
  return files.paths[part] ?? `${files.name}.part${String(part).padStart(3, "0")}`;
}
