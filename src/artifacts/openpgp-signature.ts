import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { createMessage, type PublicKey, readKey, readSignature, verify } from "openpgp";
import { OperatorError } from "../errors.js";

/** A publisher's OpenPGP key, accepted only when its primary key has the pinned fingerprint. */
export interface SigningKey {
  key: PublicKey;
  fingerprint: string;
}

/** "F88C FEDE …" or "f88cfede…" → "F88CFEDE…": fingerprints are compared in one spelling. */
export function normalizeFingerprint(fingerprint: string): string {
  return fingerprint.replace(/\s+/g, "").toUpperCase();
}

/**
 * Parses an armored or binary public key and checks its primary fingerprint against the pin. The
 * key file itself can come from anywhere (a mirror, a USB disk): the pin is what is trusted.
 */
export async function readSigningKey(bytes: Buffer, pinnedFingerprint: string, where: string): Promise<SigningKey> {
  let key: PublicKey;
  try {
    const text = bytes.toString("utf8");
    key = text.includes("-----BEGIN PGP PUBLIC KEY BLOCK-----")
      ? ((await readKey({ armoredKey: text })) as PublicKey)
      : ((await readKey({ binaryKey: new Uint8Array(bytes) })) as PublicKey);
  } catch (error) {
    throw new OperatorError(`${where}: not an OpenPGP public key (${(error as Error).message})`, {
      hint: "the signing key file is damaged or is something else; fetch the publisher's key again",
    });
  }
  const fingerprint = normalizeFingerprint(key.getFingerprint());
  const pinned = normalizeFingerprint(pinnedFingerprint);
  if (fingerprint !== pinned) {
    throw new OperatorError(`${where}: key ${fingerprint} is not the pinned signing key ${pinned}`, {
      hint: "the mirror or folder carries another key; use the publisher's official key, or pin this one on purpose",
    });
  }
  return { key, fingerprint };
}

/**
 * Verifies a detached OpenPGP signature (binary or armored) over a file, streaming it: a 400 MB
 * initramfs is never held in memory. Signatures by the key's signing subkeys count, as
 * publishers rotate those.
 */
export async function verifyDetachedSignature(
  filePath: string,
  signatureBytes: Buffer,
  signer: SigningKey,
  label: string,
): Promise<void> {
  const bad = (why: string) =>
    new OperatorError(`${label}: signature check failed: ${why}`, {
      hint: `the file or its signature was altered, or it is not signed by ${signer.fingerprint}; fix the source and pull again`,
    });
  let signature: Awaited<ReturnType<typeof readSignature>>;
  try {
    const text = signatureBytes.toString("latin1");
    signature = text.includes("-----BEGIN PGP SIGNATURE-----")
      ? await readSignature({ armoredSignature: text })
      : await readSignature({ binarySignature: new Uint8Array(signatureBytes) });
  } catch (error) {
    throw bad(`the signature file is not an OpenPGP signature (${(error as Error).message})`);
  }
  const content = Readable.toWeb(createReadStream(filePath, { highWaterMark: 1 << 20 })) as ReadableStream<Uint8Array>;
  const message = await createMessage({ binary: content });
  const result = await verify({ message, signature, verificationKeys: signer.key, format: "binary" });
  // With a streamed message the signature settles only once the data has been read to the end.
  const reader = (result.data as ReadableStream<Uint8Array>).getReader();
  while (!(await reader.read()).done) {}
  const [first] = result.signatures;
  if (!first) throw bad("the signature file holds no signature");
  try {
    await first.verified;
  } catch (error) {
    throw bad((error as Error).message);
  }
}
