import { createHash, createHmac } from "node:crypto";

/**
 * OpenSSH known_hosts lines (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): what airstrap writes when it
 * pins a key and what `ssh-keyscan [-H]` writes, so either can seed the pins.
 */
export interface KnownHostsEntry {
  /** 0-based line number in the file. */
  line: number;
  marker?: "cert-authority" | "revoked";
  /** Comma-separated patterns as written (plain, `[addr]:port`, wildcards, `!negated`, or one `|1|salt|hash`). */
  hosts: string;
  keyType: string;
  /** Base64 of the public key blob. */
  key: string;
  comment?: string;
}

/** `address` for port 22, otherwise `[address]:port` — the name OpenSSH looks a host up by. */
export function knownHostsName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

export function parseKnownHosts(text: string): KnownHostsEntry[] {
  const entries: KnownHostsEntry[] = [];
  text.split("\n").forEach((raw, line) => {
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    const fields = trimmed.split(/\s+/);
    let marker: KnownHostsEntry["marker"];
    if (fields[0] === "@cert-authority" || fields[0] === "@revoked") {
      marker = fields[0] === "@revoked" ? "revoked" : "cert-authority";
      fields.shift();
    }
    const [hosts, keyType, key, ...comment] = fields;
    if (hosts === undefined || keyType === undefined || key === undefined) return;
    entries.push({
      line,
      ...(marker === undefined ? {} : { marker }),
      hosts,
      keyType,
      key,
      ...(comment.length === 0 ? {} : { comment: comment.join(" ") }),
    });
  });
  return entries;
}

export function formatKnownHostsLine(name: string, keyType: string, key: string, comment?: string): string {
  return [name, keyType, key, ...(comment === undefined ? [] : [comment])].join(" ");
}

/** Whether the entry's host field names `name` (as built by knownHostsName), following OpenSSH's rules. */
export function entryNamesHost(entry: KnownHostsEntry, name: string): boolean {
  if (entry.hosts.startsWith("|1|")) return hashedNameMatches(entry.hosts, name);
  let matched = false;
  for (const pattern of entry.hosts.split(",")) {
    if (pattern.startsWith("!")) {
      if (globMatches(pattern.slice(1), name)) return false;
    } else if (globMatches(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

function hashedNameMatches(field: string, name: string): boolean {
  const [, , salt, hash] = field.split("|");
  if (salt === undefined || hash === undefined) return false;
  const digest = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
  return digest === hash;
}

function globMatches(pattern: string, name: string): boolean {
  if (!/[*?]/.test(pattern)) return pattern.toLowerCase() === name.toLowerCase();
  const source = pattern
    .split("")
    .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`, "i").test(name);
}

/** The key type named inside an SSH public key blob ("ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"). */
export function keyTypeOfBlob(blob: Buffer): string {
  if (blob.length < 4) throw new Error("SSH public key blob too short");
  const length = blob.readUInt32BE(0);
  if (length > blob.length - 4) throw new Error("SSH public key blob malformed");
  return blob.subarray(4, 4 + length).toString("latin1");
}

/** `SHA256:<unpadded base64>`, as `ssh-keygen -lf` and `ssh` print a key's fingerprint. */
export function sha256Fingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** ED25519, ECDSA, RSA — the label `ssh-keygen -l` prints in parentheses. */
export function keyTypeLabel(keyType: string): string {
  if (keyType === "ssh-ed25519") return "ED25519";
  if (keyType.startsWith("ecdsa-")) return "ECDSA";
  if (keyType === "ssh-rsa") return "RSA";
  return keyType.toUpperCase();
}

/** The host-key algorithms that produce a key of this type (RSA keys sign with the SHA-2 variants). */
export function hostKeyAlgorithmsFor(keyType: string): string[] {
  return keyType === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256"] : [keyType];
}
