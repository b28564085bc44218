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
  const privateKey = await state.ensureSecret(`host-keys/${host}`, () => {
    const pair = (
      ssh2.utils as unknown as { generateKeyPairSync(type: "ed25519"): { private: string; public: string } }
    ).generateKeyPairSync("ed25519");
    return pair.private.trim();
  });
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error || Array.isArray(parsed))
    throw new Error(
      `host key ${state.file(`host-keys/${host}`)}: ${parsed instanceof Error ? parsed.message : "several keys"}`,
    );
  const blob = parsed.getPublicSSH();
  return { private: `${privateKey}\n`, public: `${parsed.type} ${blob.toString("base64")}`, blob };
}
