/**
 * Test backends as real processes on loopback (see tcp-backend-process.mjs): TCP echo or HTTPS,
 * which tests can kill, freeze, thaw and restart on the same address and port.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("./tcp-backend-process.mjs", import.meta.url));

export interface BackendOptions {
  name: string;
  address: string;
  port?: number;
  /** "reset": accepts, then answers the first bytes with a TCP reset. */
  /** "sink": reads and counts everything, answers nothing. */
  mode?: "echo" | "https" | "reset" | "sink";
  cert?: string;
  key?: string;
  backlog?: number;
}

type Report = { event: string } & Record<string, unknown>;

export interface TestBackend {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly endpoint: string;
  /** SIGKILL, as a crashed server: the kernel resets its connections. */
  kill(): Promise<void>;
  /** Start again on the same address and port. */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: a hung server whose kernel still completes handshakes until the backlog is full. */
  freeze(): void;
  thaw(): void;
  setReadyzStatus(status: number): void;
  /** Bytes the flooding connections got accepted by the kernel so far. */
  flooded(): Promise<number>;
  /** Sink mode: bytes received so far and connections open. */
  sunk(): Promise<{ bytes: number; connections: number }>;
  /** The next report of this kind (that `match` accepts). */
  next(event: string, match?: (report: Report) => boolean): Promise<Report>;
}

export async function startBackend(options: BackendOptions): Promise<TestBackend> {
  let child: ChildProcess;
  let port = options.port ?? 0;
  const waiters: Array<{ event: string; match: (report: Report) => boolean; resolve: (report: Report) => void }> = [];
  const launch = async () => {
    child = spawn(process.execPath, [SCRIPT, JSON.stringify({ ...options, port })], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const report = JSON.parse(line) as Report;
      const index = waiters.findIndex((w) => w.event === report.event && w.match(report));
      if (index >= 0) waiters.splice(index, 1)[0]!.resolve(report);
    });
    const listening = await next("listening");
    port = listening.port as number;
  };
  const next = (event: string, match: (report: Report) => boolean = () => true) =>
    new Promise<Report>((resolve) => waiters.push({ event, match, resolve }));
  const send = (line: string) => child.stdin!.write(`${line}\n`);
  await launch();
  return {
    name: options.name,
    address: options.address,
    get port() {
      return port;
    },
    get endpoint() {
      return `${options.address}:${port}`;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill("SIGKILL");
      await exited;
    },
    restart: launch,
    freeze: () => child.kill("SIGSTOP"),
    thaw: () => child.kill("SIGCONT"),
    setReadyzStatus: (status) => send(`status ${status}`),
    async flooded() {
      const reply = next("flooded");
      send("flooded");
      return (await reply).bytes as number;
    },
    async sunk() {
      const reply = next("sunk");
      send("sunk");
      const report = await reply;
      return { bytes: report.bytes as number, connections: report.connections as number };
    },
    next,
  };
}

/** Starts several and returns them with a cleanup that kills every one. */
export async function startBackends(list: BackendOptions[]): Promise<TestBackend[]> {
  return Promise.all(list.map(startBackend));
}
