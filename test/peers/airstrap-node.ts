import { spawn } from "node:child_process";
import { waitFor, waitForValue } from "../helpers/wait-for.js";
import { dig } from "./dig.js";

/**
 * `airstrap node` from a single-file executable, as airstrap-node.service runs it, but on a
 * loopback address of its own (DNS on `dnsPort`, the LB, health, metrics and status on the plan's
 * or fixed ports there), at `nice` (root may run it ahead of the machine's other load). Resolves
 * once it answers `probe` over DNS. Stopped when the test ends, with its successor if it handed over.
 */
export interface AirstrapNode {
  pid: number;
  stderr(): string;
  /** Its exit code. */
  exited: Promise<number | null>;
  /** Waits for it to say it handed over, and gives the successor's PID. */
  handedOver(timeoutMs: number): Promise<number>;
}

export async function startAirstrapNode(
  t: { after(fn: () => unknown): void },
  options: {
    executable: string;
    planFile: string;
    node: string;
    address: string;
    dnsPort: number;
    probe: string;
    nice?: number;
  },
): Promise<AirstrapNode> {
  const { address } = options;
  const child = spawn(
    "nice",
    [
      "-n",
      String(options.nice ?? 0),
      options.executable,
      "node",
      "--plan",
      options.planFile,
      "--node",
      options.node,
      "--dns-listen",
      `${address}:${options.dnsPort}`,
      "--dns-http",
      `${address}:9153`,
      "--lb-address",
      address,
      "--lb-admin",
      `${address}:9154`,
      "--status-listen",
      `${address}:9155`,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const successor = () => {
    const match = /handed over to pid (\d+)/.exec(stderr);
    return match ? Number(match[1]) : undefined;
  };
  t.after(() => {
    child.kill("SIGTERM");
    const next = successor();
    if (next) process.kill(next, "SIGTERM");
  });
  await waitForValue(
    async () =>
      (await dig({ address, port: options.dnsPort }, options.probe).catch(() => undefined))?.answer[0]
        ? true
        : undefined,
    "airstrap node answers",
    120_000,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; it said: ${stderr.slice(-2000)}`);
  });
  return {
    pid: child.pid!,
    stderr: () => stderr,
    exited,
    async handedOver(timeoutMs) {
      await waitFor(() => successor() !== undefined, "the hand-over", timeoutMs);
      return successor()!;
    },
  };
}
