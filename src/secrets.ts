/**
 * Every secret this process holds, registered where it is loaded or created (the join token, the
 * registry push token, the sudo password, the SSH key passphrase, private keys, kubeconfig
 * credentials), and the one redactor that every event, view, log line, error and write to
 * stdout/stderr passes through. Redaction works on the raw text, before any escaping: a secret
 * holding `"` or `\` is found as itself, and its JSON-escaped form is also registered for text that
 * was escaped before it got here.
 */
const held = new Set<string>();
/** Sorted longest first, so a secret that contains another is replaced whole. */
let ordered: string[] = [];

export const REDACTED = "[redacted]";

/** Shorter values would blank ordinary words out of every line; no secret airstrap makes is this short. */
const MIN_LENGTH = 4;

/** Remembers a secret for the rest of the process (whitespace around it is not part of it). Returns it. */
export function registerSecret<T extends string | undefined>(value: T): T {
  const secret = value?.trim();
  if (secret === undefined || secret.length < MIN_LENGTH) return value;
  const forms = [secret, JSON.stringify(secret).slice(1, -1)];
  // A PEM block is also found line by line (its body lines are what a partial print shows).
  if (secret.includes("-----BEGIN"))
    for (const line of secret.split("\n")) if (/^[A-Za-z0-9+/=]{16,}$/.test(line.trim())) forms.push(line.trim());
  let added = false;
  for (const form of forms)
    if (!held.has(form)) {
      held.add(form);
      added = true;
    }
  if (added) ordered = [...held].sort((a, b) => b.length - a.length);
  return value;
}

/** The text with every registered secret replaced by [redacted]. */
export function redact(text: string): string {
  if (ordered.length === 0) return text;
  let result = text;
  for (const secret of ordered) if (result.includes(secret)) result = result.split(secret).join(REDACTED);
  return result;
}

/** Bytes with every registered secret (as UTF-8) replaced; the same buffer when none occurs. */
export function redactBytes(bytes: Buffer): Buffer {
  if (!ordered.some((secret) => bytes.includes(secret))) return bytes;
  return Buffer.from(redact(bytes.toString("utf8")));
}

/**
 * A copy of a JSON-like value (an event's detail) with every string in it redacted; the value
 * itself while no secret is held (a service emitting an event per request pays nothing then).
 */
export function redactValue<T>(value: T): T {
  if (ordered.length === 0) return value;
  if (typeof value === "string") return redact(value) as T;
  if (Array.isArray(value)) return value.map(redactValue) as T;
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v)])) as T;
  return value;
}

/** Secrets from the environment airstrap reads (registered at start, so even a message naming one early is safe). */
export function registerEnvironmentSecrets(env: NodeJS.ProcessEnv): void {
  registerSecret(env.AIRSTRAP_SUDO_PASSWORD);
  registerSecret(env.AIRSTRAP_SSH_PASSPHRASE);
}
