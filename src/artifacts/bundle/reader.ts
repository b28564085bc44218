import { createHash } from "node:crypto";
import { OperatorError } from "../../errors.js";
import { createDigester, digestAlgorithm, digestFromHash } from "../../store/digest.js";
import { BundleDamageError } from "./damage.js";
import {
  type BundleEntry,
  type BundleHead,
  type BundleIndex,
  bundleIndexSchema,
  bundleLayout,
  describeBlob,
  INDEX_ENTRY,
  MAX_INDEX_SIZE,
  SIGNATURE_ENTRY,
  SIGNATURE_SIZE,
} from "./format.js";
import { partAt } from "./part-check.js";
import type { BundleFiles, ByteSource } from "./parts.js";
import { verifyDigestSignature } from "./signing.js";
import { BLOCK, END_OF_ARCHIVE, paddingFor, parseTarHeader, tarHeader } from "./tar-header.js";
import { checkSigner, type SignerTrust } from "./trust.js";

/**
 * Reads and checks the index and its signature at the start of the stream, and that the signer
 * is the one `trust` names (before anything after the head is read or written anywhere).
 */
export async function readHead(source: ByteSource, files: BundleFiles, trust: SignerTrust): Promise<BundleHead> {
  const where = (offset: number) => partAt(files, offset, undefined);
  const header = await source.readExact(BLOCK);
  if (header.length < BLOCK)
    throw new BundleDamageError("truncated", INDEX_ENTRY, where(0), "the bundle ends inside the first header");
  const parsed = parseTarHeader(header);
  if (parsed === undefined || parsed.name !== INDEX_ENTRY) {
    throw new BundleDamageError(
      "format",
      INDEX_ENTRY,
      where(0),
      "the first entry is not airstrap-index.json: not an airstrap bundle, the first part, or its header was changed",
    );
  }
  if (parsed.size > MAX_INDEX_SIZE || !tarHeader(INDEX_ENTRY, parsed.size).equals(header)) {
    throw new BundleDamageError("header", INDEX_ENTRY, where(0), "its tar header was changed");
  }
  const indexBytes = await source.readExact(parsed.size);
  if (indexBytes.length < parsed.size) {
    throw new BundleDamageError("truncated", INDEX_ENTRY, where(BLOCK), "the bundle ends inside the index");
  }
  await expectZeros(source, paddingFor(parsed.size), INDEX_ENTRY, files, BLOCK + parsed.size);
  const sigOffset = source.offset;
  const sigHeader = await source.readExact(BLOCK);
  if (!tarHeader(SIGNATURE_ENTRY, SIGNATURE_SIZE).equals(sigHeader)) {
    throw new BundleDamageError("header", SIGNATURE_ENTRY, where(sigOffset), "its tar header was changed");
  }
  const signature = await source.readExact(SIGNATURE_SIZE);
  if (signature.length < SIGNATURE_SIZE) {
    throw new BundleDamageError("truncated", SIGNATURE_ENTRY, where(sigOffset), "the bundle ends inside the signature");
  }
  await expectZeros(source, paddingFor(SIGNATURE_SIZE), SIGNATURE_ENTRY, files, sigOffset + BLOCK + SIGNATURE_SIZE);

  const publicKey = signature.subarray(0, 32);
  const signedHash = signature.subarray(32, 64);
  const actualHash = createHash("sha256").update(indexBytes).digest();
  const signatureValid = verifyDigestSignature(publicKey, signedHash, signature.subarray(64));
  if (!signatureValid) {
    throw new BundleDamageError("signature", SIGNATURE_ENTRY, where(sigOffset), "the signature does not verify");
  }
  if (!signedHash.equals(actualHash)) {
    throw new BundleDamageError("index", INDEX_ENTRY, where(BLOCK), "its SHA-256 is not the one that was signed");
  }
  const fingerprint = checkSigner(trust, publicKey, files.name);
  let index: BundleIndex;
  try {
    const result = bundleIndexSchema.safeParse(JSON.parse(indexBytes.toString("utf8")));
    if (!result.success) throw new Error(result.error.issues[0]?.message);
    index = result.data as BundleIndex;
  } catch (error) {
    throw new OperatorError(`bundle index is signed but not understood: ${(error as Error).message}`, {
      hint: "this bundle was made by a different airstrap version; use the same version on both sides",
    });
  }
  return {
    index,
    indexDigest: `sha256:${actualHash.toString("hex")}`,
    publicKey: Buffer.from(publicKey),
    fingerprint,
    layout: bundleLayout(parsed.size, index.entries),
  };
}

async function expectZeros(
  source: ByteSource,
  length: number,
  entry: string,
  files: BundleFiles,
  offset: number,
  partSize?: number,
): Promise<void> {
  if (length === 0) return;
  const bytes = await source.readExact(length);
  if (bytes.length < length)
    throw new BundleDamageError("truncated", entry, partAt(files, offset, partSize), "the bundle ends early");
  const bad = bytes.findIndex((b) => b !== 0);
  if (bad >= 0) {
    throw new BundleDamageError(
      "padding",
      entry,
      partAt(files, offset + bad, partSize),
      `padding byte ${bad} after the entry is not zero`,
    );
  }
}

export interface EntrySink {
  /** Called before the entry's content; return false to skip it (read, not hashed, not kept). */
  begin(entry: BundleEntry, index: number): Promise<boolean>;
  data(chunk: Buffer): Promise<void>;
  /** The content hashed right; commit it. */
  end(entry: BundleEntry): Promise<void>;
  /** The content did not hash right; drop what was written. */
  fail(entry: BundleEntry): Promise<void>;
  /** Bytes of the stream read so far, for progress. */
  progress?(offset: number): void;
}

/** Walks every entry after the head, checking headers, content, padding and the end of the archive. */
export async function walkEntries(
  source: ByteSource,
  files: BundleFiles,
  head: BundleHead,
  sink: EntrySink,
): Promise<void> {
  const partSize = files.split ? head.index.partSize : undefined;
  const at = (offset: number) => partAt(files, offset, partSize);
  for (let i = 0; i < head.index.entries.length; i++) {
    const entry = head.index.entries[i]!;
    const headerOffset = head.layout.entryOffsets[i]!;
    const expected = tarHeader(entry.path, entry.size);
    const header = await source.readExact(expected.length);
    if (header.length < expected.length)
      throw new BundleDamageError("truncated", entry.path, at(headerOffset), "the bundle ends early");
    if (!expected.equals(header)) {
      const byte = header.findIndex((b, k) => b !== expected[k]);
      throw new BundleDamageError(
        "header",
        entry.path,
        at(headerOffset + Math.max(0, byte)),
        `its tar header differs at byte ${byte}`,
      );
    }
    const contentOffset = head.layout.contentOffsets[i]!;
    const keep = await sink.begin(entry, i);
    const algorithm = digestAlgorithm(entry.digest);
    const hash = keep ? createDigester(algorithm) : undefined;
    const segments =
      keep && entry.segments ? entry.segments.map((s) => ({ ...s, hash: createHash("sha256"), left: s.size })) : [];
    let segment = 0;
    let left = entry.size;
    while (left > 0) {
      const chunk = await source.read(Math.min(left, 1 << 20));
      if (chunk.length === 0)
        throw new BundleDamageError("truncated", entry.path, at(source.offset), "the bundle ends inside this entry");
      left -= chunk.length;
      if (hash) {
        hash.update(chunk);
        let rest = chunk;
        while (rest.length > 0 && segment < segments.length) {
          const s = segments[segment]!;
          const take = Math.min(s.left, rest.length);
          s.hash.update(rest.subarray(0, take));
          s.left -= take;
          rest = rest.subarray(take);
          if (s.left === 0) segment++;
        }
        await sink.data(chunk);
      }
      sink.progress?.(source.offset);
    }
    if (hash) {
      const actual = digestFromHash(algorithm, hash);
      if (actual !== entry.digest) {
        await sink.fail(entry);
        const badSegment = segments.find((s) => `sha256:${s.hash.digest("hex")}` !== s.digest);
        const part =
          badSegment && files.split
            ? (files.paths[badSegment.part] ?? `${files.name}.part${String(badSegment.part).padStart(3, "0")}`)
            : at(contentOffset);
        throw new BundleDamageError(
          "content",
          entry.path,
          part,
          `its content (${describeBlob(head.index, entry.digest)}) does not match its digest (got ${actual})`,
        );
      }
      await sink.end(entry);
    }
    await expectZeros(source, paddingFor(entry.size), entry.path, files, contentOffset + entry.size, partSize);
  }
  const endBytes = await source.readExact(END_OF_ARCHIVE);
  if (endBytes.length < END_OF_ARCHIVE) {
    throw new BundleDamageError("truncated", "end of archive", at(head.layout.endOffset), "the bundle ends early");
  }
  const bad = endBytes.findIndex((b) => b !== 0);
  if (bad >= 0) {
    throw new BundleDamageError(
      "end",
      "end of archive",
      at(head.layout.endOffset + bad),
      `byte ${bad} of the end marker is not zero`,
    );
  }
  const extra = await source.read(1);
  if (extra.length > 0) {
    throw new BundleDamageError("extra-bytes", undefined, at(source.offset - 1), "bytes follow the end of the archive");
  }
}
