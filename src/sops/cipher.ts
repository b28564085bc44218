import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/** The value types sops records beside each encrypted value. */
export type SopsType = "str" | "int" | "float" | "bool" | "comment";

/** sops uses a 32-byte GCM nonce (not the usual 12) and keeps the 16-byte tag apart from the data. */
const IV_BYTES = 32;
const TAG_BYTES = 16;
const ENC_VALUE = /^ENC\[AES256_GCM,data:([A-Za-z0-9+/=]*),iv:([A-Za-z0-9+/=]+),tag:([A-Za-z0-9+/=]+),type:([a-z]+)\]$/;

export class SopsValueError extends Error {}

export const isEncryptedValue = (text: string) => ENC_VALUE.test(text);

/** `ENC[AES256_GCM,…]` of the plaintext bytes; `aad` binds it to its place in the document. */
export function encryptValue(plain: string, type: SopsType, key: Uint8Array, aad: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, "utf8"));
  const data = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  const tag = cipher.getAuthTag();
  return `ENC[AES256_GCM,data:${data.toString("base64")},iv:${iv.toString("base64")},tag:${tag.toString("base64")},type:${type}]`;
}

/** The plaintext and type of an `ENC[…]` value; throws SopsValueError when it does not open with this key and place. */
export function decryptValue(value: string, key: Uint8Array, aad: string): { plain: string; type: string } {
  const match = ENC_VALUE.exec(value);
  if (!match) throw new SopsValueError("not an ENC[AES256_GCM,…] value");
  const [, data, iv, tag, type] = match as unknown as [string, string, string, string, string];
  const ivBytes = strictBase64(iv);
  const tagBytes = strictBase64(tag);
  if (tagBytes.length !== TAG_BYTES || ivBytes.length === 0) throw new SopsValueError("malformed iv or tag");
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, ivBytes, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, "utf8"));
    decipher.setAuthTag(tagBytes);
    const plain = Buffer.concat([decipher.update(strictBase64(data)), decipher.final()]);
    return { plain: plain.toString("utf8"), type };
  } catch {
    throw new SopsValueError(
      "the value does not open with this data key at this place (changed, moved or another key)",
    );
  }
}

/** Canonical base64 only: a changed padding bit is a changed file, even if the bytes decode the same. */
function strictBase64(text: string): Buffer {
  const bytes = Buffer.from(text, "base64");
  if (bytes.toString("base64") !== text) throw new SopsValueError("malformed base64");
  return bytes;
}
