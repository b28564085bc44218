import { readFile } from "node:fs/promises";
import { OperatorError, UsageError } from "../../errors.js";
import { loadManifest } from "../../manifest/load.js";
import { stateDirBeside } from "../../state/state-dir.js";
import { keyFingerprint, parsePublicKey, signingPublicKeyFile } from "./signing.js";

/**
 * Whom a bundle must be signed by before its content is believed. A valid signature alone proves
 * only that nothing changed since someone signed it; origin needs a key known on this side.
 */
export type SignerTrust =
  | { kind: "key"; fingerprint: string; source: string }
  | { kind: "any"; why: string }
  | { kind: "unknown"; looked: string[] };

/** A key fingerprint as `bundle create` prints it: SHA256: and the unpadded base64 of 32 bytes. */
export const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

export const trustKey = (publicKey: Buffer, source = "--key"): SignerTrust => ({
  kind: "key",
  fingerprint: keyFingerprint(publicKey),
  source,
});

export class UntrustedSignerError extends OperatorError {
  constructor(
    readonly signer: string,
    message: string,
    hint: string,
  ) {
    super(message, { hint });
    this.name = "UntrustedSignerError";
  }
}

/**
 * Throws unless the key that signed the bundle (its signature already verified) is the trusted one;
 * returns the signer's fingerprint.
 */
export function checkSigner(trust: SignerTrust, publicKey: Buffer, bundle: string): string {
  const signer = keyFingerprint(publicKey);
  if (trust.kind === "any" || (trust.kind === "key" && trust.fingerprint === signer)) return signer;
  if (trust.kind === "key") {
    throw new UntrustedSignerError(
      signer,
      `${bundle}: signed by key ${signer}, not by the trusted key ${trust.fingerprint} (${trust.source}); nothing was loaded`,
      `this bundle was not made with the key you trust: re-create it on the connected side with the state dir that holds that key, or check ${trust.source}`,
    );
  }
  throw new UntrustedSignerError(
    signer,
    `${bundle}: signed by key ${signer}, but no trusted signer is known here (looked at ${trust.looked.join(", ")}); nothing was loaded`,
    `compare ${signer} with the fingerprint bundle create printed, then pin it: "signer: ${signer}" under spec.artifacts in cluster.yaml, or pass --key with the public key`,
  );
}

/** `--key`'s value: a fingerprint, an ed25519:<base64> public key, or a file holding one. */
export async function parseTrustedKey(text: string): Promise<string> {
  const value = text.trim();
  return FINGERPRINT.test(value) ? value : keyFingerprint(await parsePublicKey(value));
}

/**
 * Where the trusted signer comes from, first found wins: --key; spec.artifacts.signer in the
 * manifest; the signing key of the state dir beside the manifest (this machine made the bundle).
 */
export async function resolveSignerTrust(options: {
  key?: string;
  insecureSkipSignature?: boolean;
  manifestFile: string;
}): Promise<SignerTrust> {
  if (options.key !== undefined && options.insecureSkipSignature) {
    throw new UsageError("--key and --insecure-skip-signature contradict each other", {
      hint: "drop --insecure-skip-signature: with --key the signer is checked",
    });
  }
  if (options.key !== undefined)
    return { kind: "key", fingerprint: await parseTrustedKey(options.key), source: "--key" };
  if (options.insecureSkipSignature) return { kind: "any", why: "--insecure-skip-signature" };
  const pinned = await manifestSigner(options.manifestFile);
  if (pinned !== undefined) {
    return { kind: "key", fingerprint: pinned, source: `spec.artifacts.signer in ${options.manifestFile}` };
  }
  const ownKeyFile = signingPublicKeyFile(stateDirBeside(options.manifestFile));
  const ownKey = await readIfPresent(ownKeyFile);
  if (ownKey !== undefined) {
    return {
      kind: "key",
      fingerprint: keyFingerprint(await parsePublicKey(ownKey)),
      source: `${ownKeyFile}, the key this state dir signs with`,
    };
  }
  return { kind: "unknown", looked: ["--key", `spec.artifacts.signer in ${options.manifestFile}`, ownKeyFile] };
}

async function manifestSigner(file: string): Promise<string | undefined> {
  if ((await readIfPresent(file)) === undefined) return undefined;
  return (await loadManifest(file)).manifest.artifacts.signer;
}

async function readIfPresent(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}
