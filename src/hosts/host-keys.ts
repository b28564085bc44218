import ssh2 from "ssh2";
import type { StateDir } from "../state/state-dir.js";

export interface HostKey {
  /** OpenSSH private key (the host's /etc/ssh/ssh_host_ed25519_key). */
  private: string;
  /** `ssh-ed25519 AAAA…`, one line. */
  public: string;
  /** The key as SSH sends it, for pinning. */
  blob: Buffer;
}

/**
 * The ED25519 host key of a host airstrap provisions itself (over PXE), made once in the state
 * dir (`host-keys/<host>`, 0600) and reused, so airstrap knows the key before the first
 * connection: it is pinned, not trusted on first use.
 */
export async function ensureHostKey(state: StateDir, host: string): Promise<HostKey> {
  const privateKey = await state.ensureSecret(`host-keys/${host}`, generateHostKey);
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error || Array.isArray(parsed))
    throw new Error(
      `host key ${state.file(`host-keys/${host}`)}: ${parsed instanceof Error ? parsed.message : "several keys"}`,
    );
  const blob = parsed.getPublicSSH();
  return { private: `${privateKey}\n`, public: `${parsed.type} ${blob.toString("base64")}`, blob };
}

/**
 * A new ED25519 key in OpenSSH's format. ssh2's generator now and then (about 1 in 400) writes a
 * key its own parser rejects as malformed; such a key is never kept: a fresh one is made instead.
 */
function generateHostKey(): string {
  const generate = (ssh2.utils as unknown as { generateKeyPairSync(type: "ed25519"): { private: string } })
    .generateKeyPairSync;
  for (let attempt = 0; attempt < 20; attempt++) {
    const key = generate("ed25519").private.trim();
    if (!(ssh2.utils.parseKey(key) instanceof Error)) return key;
  }
  throw new Error("ssh2 made 20 ED25519 keys in a row that it cannot read back");
}
