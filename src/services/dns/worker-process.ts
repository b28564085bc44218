import { type ChildProcess, spawn } from "node:child_process";
import type { Socket as UdpSocket } from "node:dgram";
import { type CounterSnapshot, sumSnapshots } from "./metrics.js";
import { type FromWorker, type ToWorker, WORKER_VERB, type WorkerRequest } from "./worker-messages.js";

/** One worker process as the primary sees it: requests with answers, its latest counters, its end. */

type Done = Extract<FromWorker, { op: "done" }>;

const STOP_GRACE_MS = 5_000;

export class WorkerProcess {
  readonly child: ChildProcess;
  readonly startedAt = Date.now();
  /** Its counters as last reported. */
  counters: CounterSnapshot = sumSnapshots([]);
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (done: Done) => void; reject: (error: Error) => void }>();
  private gone = false;

  constructor(command: string[], onMessage: (message: FromWorker, worker: WorkerProcess) => void) {
    const [program, ...args] = command;
    // stdout stays closed (a worker never prints); stderr is shared, so a crash shows its stack.
    this.child = spawn(program!, [...args, WORKER_VERB], {
      stdio: ["ignore", "ignore", "inherit", "ipc"],
      serialization: "advanced",
    });
    this.exited = new Promise((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (this.gone) return;
        this.gone = true;
        for (const { reject } of this.waiting.values()) reject(new Error("the worker process exited"));
        this.waiting.clear();
        resolve({ code, signal });
      };
      this.child.once("exit", finish);
      this.child.once("error", () => finish(null, null));
    });
    this.child.on("message", (message: FromWorker) => {
      if (message.op === "done") {
        const waiting = this.waiting.get(message.seq);
        this.waiting.delete(message.seq);
        if (message.snapshot !== undefined) this.counters = message.snapshot;
        waiting?.resolve(message);
      } else if (message.op === "counters") {
        this.counters = message.snapshot;
      } else {
        onMessage(message, this);
      }
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return !this.gone;
  }

  /** Resolves when the worker has done it; rejects on its error, its exit, or after `timeoutMs`. */
  request(request: WorkerRequest, timeoutMs: number, socket?: UdpSocket): Promise<Done> {
    if (this.gone || !this.child.connected) return Promise.reject(new Error("the worker process is gone"));
    const seq = this.seq++;
    return new Promise<Done>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(seq);
        reject(new Error(`the worker process did not answer "${request.op}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(seq, {
        resolve: (done) => {
          clearTimeout(timer);
          if (done.error === undefined) resolve(done);
          else reject(new Error(done.error));
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.child.send({ ...request, seq } as ToWorker, socket);
    });
  }

  /** A message that needs no answer; dropped when the worker is gone. */
  tell(message: ToWorker): void {
    if (!this.gone && this.child.connected) this.child.send(message);
  }

  kill(): void {
    if (!this.gone) this.child.kill("SIGKILL");
  }

  /** Lets go of the channel (the worker then closes its sockets and exits); kills it if it lingers. */
  async stop(): Promise<void> {
    if (this.gone) return;
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.kill(), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }
}
