import { createHash } from "node:crypto";

/**
 * Basic credentials that bcrypt already accepted, so the requests of one pull or push pay for
 * bcrypt (slow by design, pure JS here) once rather than on every request.
 *
 * Safe by construction: the key is a SHA-256 of the whole Authorization header, so neither the
 * header nor the password is kept; only successes are stored; an entry lives `ttlMs` at most and
 * counts only while the user's htpasswd entry is still the very hash it was verified against, so
 * a changed or removed entry, or a changed password, is never answered from here. At most
 * `maxEntries` are kept, the oldest dropped first.
 */
export interface CredentialCache {
  /** Whether `header` was verified against `currentEntry(user)` within the last `ttlMs`. */
  accepted(header: string, currentEntry: (user: string) => string | undefined): boolean;
  /** Remembers that `header` (for `user`) matched htpasswd entry `entry`. */
  remember(header: string, user: string, entry: string): void;
}

export const CREDENTIAL_TTL_MS = 60_000;
export const CREDENTIAL_CACHE_ENTRIES = 256;

interface Verified {
  user: string;
  entry: string;
  expires: number;
}

export function createCredentialCache(
  options: { ttlMs: number; maxEntries: number; now?: () => number } = {
    ttlMs: CREDENTIAL_TTL_MS,
    maxEntries: CREDENTIAL_CACHE_ENTRIES,
  },
): CredentialCache {
  const now = options.now ?? Date.now;
  const entries = new Map<string, Verified>();
  const keyOf = (header: string) => createHash("sha256").update(header).digest("base64");

  return {
    accepted(header, currentEntry) {
      const key = keyOf(header);
      const verified = entries.get(key);
      if (!verified) return false;
      if (verified.expires <= now() || currentEntry(verified.user) !== verified.entry) {
        entries.delete(key);
        return false;
      }
      return true;
    },
    remember(header, user, entry) {
      const key = keyOf(header);
      entries.delete(key);
      entries.set(key, { user, entry, expires: now() + options.ttlMs });
      while (entries.size > options.maxEntries) entries.delete(entries.keys().next().value!);
    },
  };
}
