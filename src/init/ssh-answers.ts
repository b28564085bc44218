import { createConnection } from "node:net";

/**
 * True when an SSH server answers at address:port: it sends its identification line ("SSH-2.0-…")
 * first, so a banner within the bound is proof enough that sshd runs (the install then logs in with
 * the pinned host key; this only says when to start).
 */
export function sshAnswers(address: string, port: number, timeoutMs = 5000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: address, port });
    let received = "";
    const finish = (answer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      if (received.includes("\n")) finish(received.startsWith("SSH-"));
    });
    socket.on("error", () => finish(false));
    socket.on("close", () => finish(false));
  });
}
