import { createHash, type Hash } from "node:crypto";
import { OperatorError } from "../errors.js";

/**
 * An OCI content digest. The image spec registers sha256 (the canonical algorithm, what a digest
 * is computed with unless someone names another) and sha512; airstrap stores and verifies both.
 */
export type DigestAlgorithm = "sha256" | "sha512";
export type Digest = `${DigestAlgorithm}:${string}`;

export const CANONICAL_ALGORITHM: DigestAlgorithm = "sha256";

const DIGEST = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export function isDigest(value: string): value is Digest {
  return DIGEST.test(value);
}

export function isDigestAlgorithm(value: string): value is DigestAlgorithm {
  return value === "sha256" || value === "sha512";
}

export function parseDigest(value: string, where = "digest"): Digest {
  if (!isDigest(value)) {
    throw new OperatorError(`${where}: "${value}" is not a sha256 or sha512 digest`, {
      hint: "expected sha256: and 64 lowercase hex characters, or sha512: and 128",
    });
  }
  return value;
}

export function digestAlgorithm(digest: Digest): DigestAlgorithm {
  return digest.startsWith("sha512:") ? "sha512" : "sha256";
}

export function digestHex(digest: Digest): string {
  return digest.slice(digest.indexOf(":") + 1);
}

export function digestFromHex(hex: string, algorithm: DigestAlgorithm = CANONICAL_ALGORITHM): Digest {
  return parseDigest(`${algorithm}:${hex}`);
}

/** A running hash for `algorithm`; finish it with `digestFromHash`. */
export function createDigester(algorithm: DigestAlgorithm): Hash {
  return createHash(algorithm);
}

export function digestFromHash(algorithm: DigestAlgorithm, hash: Hash): Digest {
  return `${algorithm}:${hash.digest("hex")}`;
}

export function digestOf(bytes: Uint8Array | string, algorithm: DigestAlgorithm = CANONICAL_ALGORITHM): Digest {
  return digestFromHash(algorithm, createDigester(algorithm).update(bytes));
}

/**
 * A file or folder named for a digest beside others of any algorithm (repository links, staging):
 * the bare hex for sha256, the form every existing store already uses, `<algorithm>-<hex>` else.
 */
export function digestFileName(digest: Digest): string {
  const algorithm = digestAlgorithm(digest);
  return algorithm === CANONICAL_ALGORITHM ? digestHex(digest) : `${algorithm}-${digestHex(digest)}`;
}

export function digestFromFileName(name: string): Digest | undefined {
  const dash = name.indexOf("-");
  const algorithm = dash < 0 ? CANONICAL_ALGORITHM : name.slice(0, dash);
  if (algorithm === CANONICAL_ALGORITHM && dash >= 0) return undefined;
  const candidate = `${algorithm}:${name.slice(dash + 1)}`;
  return isDigest(candidate) ? candidate : undefined;
}

/** The blob area's folder for each algorithm, `blobs/<algorithm>/<hex>` as in an OCI image layout. */
export function blobRelativePath(digest: Digest): string {
  return `blobs/${digestAlgorithm(digest)}/${digestHex(digest)}`;
}

export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ["sha256", "sha512"];

/** Parses `blobs/<algorithm>/<hex>` (a layout or archive path) into its digest. */
export function digestFromBlobPath(path: string): Digest | undefined {
  const match = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/.exec(path);
  const candidate = match ? `${match[1]}:${match[2]}` : "";
  return isDigest(candidate) ? candidate : undefined;
}

/**
 * The digest of a manifest fetched by `reference` (a tag or a digest) from a server that announced
 * `announced` (its Docker-Content-Digest): computed with the algorithm of the digest asked for,
 * else of the one announced, else sha256, and returned with the digest it must equal (`claimed`).
 */
export function fetchedManifestDigest(
  bytes: Uint8Array,
  reference: string,
  announced: string | null | undefined,
): { digest: Digest; claimed: string | undefined } {
  const claimed = isDigest(reference) ? reference : announced || undefined;
  const algorithm = claimed !== undefined && isDigest(claimed) ? digestAlgorithm(claimed) : CANONICAL_ALGORITHM;
  return { digest: digestOf(bytes, algorithm), claimed };
}
