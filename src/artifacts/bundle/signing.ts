import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { OperatorError } from "../../errors.js";
import { openStateDir } from "../../state/state-dir.js";

/** Raw ed25519 public keys are sent as "ed25519:<base64 of 32 bytes>"; short enough to read out loud or paste. */
const PREFIX = "ed25519:";
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const KEY_FILE = "bundle-signing.key";
const PUB_FILE = "bundle-signing.pub";

/** The public half of a state dir's signing key, as "ed25519:<base64>". */
export const signingPublicKeyFile = (stateDir: string) => join(stateDir, PUB_FILE);

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: Buffer;
}

/** The state dir's bundle signing key, created once on first use (the state dir keeps it 0600). */
export async function loadOrCreateSigningKey(stateDir: string): Promise<SigningKey> {
  const state = await openStateDir(stateDir);
  const pem = await state.ensureSecret(KEY_FILE, () =>
    String(generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" })).trim(),
  );
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (error) {
    throw new OperatorError(`${state.file(KEY_FILE)}: not a private key (${(error as Error).message})`, {
      hint: "move it away; a new key is then created (bundles signed with the old one then need the old public key)",
    });
  }
  if (privateKey.asymmetricKeyType !== "ed25519") {
    throw new OperatorError(`${state.file(KEY_FILE)}: not an ed25519 private key`, {
      hint: "move it away; a new key is then created",
    });
  }
  const publicKey = rawPublicKey(createPublicKey(privateKey));
  const published = `${formatPublicKey(publicKey)}\n`;
  if ((await state.read(PUB_FILE)) !== published) await state.write(PUB_FILE, published);
  return { privateKey, publicKey };
}

function rawPublicKey(key: KeyObject): Buffer {
  const der = key.export({ format: "der", type: "spki" });
  return Buffer.from(der.subarray(der.length - 32));
}

export function formatPublicKey(raw: Buffer): string {
  return `${PREFIX}${raw.toString("base64")}`;
}

export function keyFingerprint(raw: Buffer): string {
  return `SHA256:${createHash("sha256").update(raw).digest("base64").replace(/=+$/, "")}`;
}

/** Accepts "ed25519:<base64>" or a file holding it (or a PEM SPKI public key). */
export async function parsePublicKey(text: string): Promise<Buffer> {
  let value = text.trim();
  if (!value.startsWith(PREFIX)) {
    try {
      value = (await readFile(value, "utf8")).trim();
    } catch {
      throw new OperatorError(`--key: "${text}" is neither an ed25519:<base64> key nor a readable file`, {
        hint: "pass the public key printed by airstrap bundle create, or the .pub file from its state dir",
      });
    }
  }
  if (value.startsWith("-----BEGIN PUBLIC KEY-----")) {
    try {
      return rawPublicKey(createPublicKey(value));
    } catch {
      throw new OperatorError("--key: the PEM file is not an ed25519 public key");
    }
  }
  const raw = value.startsWith(PREFIX) ? Buffer.from(value.slice(PREFIX.length), "base64") : Buffer.alloc(0);
  if (raw.length !== 32) {
    throw new OperatorError("--key: not an ed25519 public key (expected ed25519: and 32 bytes in base64)", {
      hint: "pass the public key printed by airstrap bundle create",
    });
  }
  return raw;
}

export function signDigest(key: SigningKey, digest: Buffer): Buffer {
  return sign(null, digest, key.privateKey);
}

export function verifyDigestSignature(publicKey: Buffer, digest: Buffer, signature: Buffer): boolean {
  try {
    const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: "der", type: "spki" });
    return verify(null, digest, key, signature);
  } catch {
    return false;
  }
}
