import { createHash } from "node:crypto";
import { connect } from "node:net";

/** Reads the SSH identification banner ("SSH-2.0-…"): proof that sshd, not just the kernel, answers. */
export function sshBanner(address: string, port = 22, timeoutMs = 1000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    let received = "";
    const finish = (value: string | undefined) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(timeoutMs, () => finish(undefined));
    socket.on("error", () => finish(undefined));
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      const line = received.split("\r\n")[0] ?? "";
      if (received.includes("\n")) finish(line.startsWith("SSH-") ? line.trim() : undefined);
    });
    socket.on("end", () => finish(undefined));
  });
}

/** Waits until every address answers with an SSH banner; returns those that did not in time. */
export async function waitForSsh(
  peers: Array<{ address: string; port: number }>,
  timeoutMs: number,
): Promise<Array<{ address: string; port: number }>> {
  const deadline = Date.now() + timeoutMs;
  let pending = [...peers];
  while (pending.length > 0 && Date.now() < deadline) {
    const answers = await Promise.all(pending.map((peer) => sshBanner(peer.address, peer.port, 1000)));
    pending = pending.filter((_, i) => answers[i] === undefined);
    if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return pending;
}

/** OpenSSH's fingerprint of a public key line ("ssh-ed25519 AAAA… comment"): SHA256:<base64, no padding>. */
export function sshFingerprint(publicKeyLine: string): string {
  const blob = publicKeyLine.trim().split(/\s+/)[1] ?? "";
  const digest = createHash("sha256").update(Buffer.from(blob, "base64")).digest("base64");
  return `SHA256:${digest.replace(/=+$/, "")}`;
}
