import { connect, createServer, type Socket } from "node:net";
import type { TestContext } from "node:test";

/**
 * A TCP proxy on loopback in front of a real server that can cut one connection once it has sent
 * a given number of bytes to the client — the fault a flaky link causes, which the real server
 * cannot be asked to produce. Records what clients sent, so tests can see the Range they asked.
 */
export interface CuttingProxy {
  host: string;
  /** Cut the next connection whose server-to-client bytes pass this count. */
  cutAfter(bytes: number): void;
  cuts: number;
  /** Everything clients sent, as text (HTTP request heads). */
  sent(): string;
}

export async function startCuttingProxy(t: TestContext, target: string): Promise<CuttingProxy> {
  const [targetHost, targetPort] = [
    target.slice(0, target.lastIndexOf(":")),
    Number(target.slice(target.lastIndexOf(":") + 1)),
  ];
  let cutAt: number | undefined;
  let sent = "";
  const sockets = new Set<Socket>();
  const state = { cuts: 0 };
  const server = createServer((client) => {
    const upstream = connect(targetPort, targetHost);
    sockets.add(client).add(upstream);
    let down = 0;
    client.on("data", (chunk: Buffer) => {
      sent += chunk.toString("latin1");
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (cutAt !== undefined && down + chunk.length > cutAt) {
        client.write(chunk.subarray(0, Math.max(0, cutAt - down)));
        cutAt = undefined;
        state.cuts++;
        client.destroy();
        upstream.destroy();
        return;
      }
      down += chunk.length;
      client.write(chunk);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as { port: number };
  return {
    host: `127.0.0.1:${port}`,
    cutAfter: (bytes) => {
      cutAt = bytes;
    },
    get cuts() {
      return state.cuts;
    },
    sent: () => sent,
  };
}
