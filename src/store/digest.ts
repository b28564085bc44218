import { OperatorError } from "../errors.js";

/** An OCI content digest; airstrap stores and verifies sha256 only. */
export type Digest = `sha256:${string}`;

const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;

export function isDigest(value: string): value is Digest {
  return SHA256_DIGEST.test(value);
}

export function parseDigest(value: string, where = "digest"): Digest {
  if (!isDigest(value)) {
    throw new OperatorError(`${where}: "${value}" is not a sha256 digest`, {
      hint: "expected sha256: followed by 64 lowercase hex characters",
    });
  }
  return value;
}

export function digestHex(digest: Digest): string {
  return digest.slice("sha256:".length);
}

export function digestFromHex(hex: string): Digest {
  return parseDigest(`sha256:${hex}`);
}
