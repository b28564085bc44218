import { armor, Decrypter, Encrypter, generateX25519Identity, identityToRecipient } from "age-encryption";
import { registerSecret } from "../secrets.js";

export interface AgeStanza {
  recipient: string;
  /** The data key encrypted to the recipient, as an ASCII-armored age file (sops requires armor). */
  enc: string;
}

export async function newAgeIdentity(): Promise<{ identity: string; recipient: string }> {
  const identity = registerSecret(await generateX25519Identity());
  return { identity, recipient: await identityToRecipient(identity) };
}

export const recipientOf = (identity: string) => identityToRecipient(identity);

/** The data key encrypted to each recipient, one armored age file per recipient (as sops writes them). */
export async function wrapDataKey(dataKey: Uint8Array, recipients: string[]): Promise<AgeStanza[]> {
  const stanzas: AgeStanza[] = [];
  for (const recipient of recipients) {
    const encrypter = new Encrypter();
    encrypter.addRecipient(recipient);
    const enc = armor.encode(await encrypter.encrypt(dataKey));
    stanzas.push({ recipient, enc: enc.endsWith("\n") ? enc : `${enc}\n` });
  }
  return stanzas;
}

/** The data key from the first stanza one of the identities opens, or undefined when none does. */
export async function unwrapDataKey(stanzas: AgeStanza[], identities: string[]): Promise<Uint8Array | undefined> {
  for (const stanza of stanzas) {
    for (const identity of identities) {
      const decrypter = new Decrypter();
      decrypter.addIdentity(identity);
      try {
        const key = await decrypter.decrypt(armor.decode(stanza.enc));
        if (key.length === 32) return key;
      } catch {
        // Not this identity's stanza (or a damaged one): try the next.
      }
    }
  }
  return undefined;
}

/** The identities of an age key file: `AGE-SECRET-KEY-1…` lines; comments and blank lines are skipped. */
export function identitiesIn(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.startsWith("AGE-SECRET-KEY-1"))
    .map((line) => registerSecret(line));
}

export const isAgeRecipient = (text: string) => /^age1[02-9ac-hj-np-z]{58}$/.test(text);
