import type { Events } from "../../events.js";
import type { DnsConfig } from "./config.js";
import type { QueryHandler } from "./handler.js";
import { type CounterSnapshot, sumSnapshots, type WorkerCounters } from "./metrics.js";
import type { DnsListener } from "./server.js";
import type { FromWorker } from "./worker-messages.js";
import { WorkerProcess } from "./worker-process.js";

/**
 * The primary's worker processes. Each is handed every bound UDP socket, so the kernel spreads
 * datagrams over the primary and the workers; TCP, HTTP, forwarding and the cache stay in the
 * primary, which answers the queries workers delegate. Reloads reach every worker before
 * `reconfigure` returns; a worker that exits is started again (with the data of that moment).
 */

/** What every worker is told, from its start and again on every reload. */
export interface WorkerSetup {
  config: DnsConfig;
  serial: number;
  instanceId: number;
  listeners: DnsListener[];
}

/** A worker that is not ready by then is a bug or a broken installation; startDns fails. */
const START_TIMEOUT_MS = 60_000;
/** A worker that does not confirm a reload by then is killed, and restarted with the new data. */
const RECONFIGURE_TIMEOUT_MS = 5_000;
const SNAPSHOT_TIMEOUT_MS = 1_000;
/** A worker that exits sooner than this after starting restarts with a growing delay (up to 30 s). */
const STABLE_AFTER_MS = 10_000;
const RESTART_DELAY_MS = 500;
const MAX_RESTART_DELAY_MS = 30_000;

export class DnsWorkerPool {
  private readonly workers = new Set<WorkerProcess>();
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private retired: CounterSnapshot = sumSnapshots([]);
  private restarts = 0;
  private restartDelay = RESTART_DELAY_MS;
  private closing = false;

  constructor(
    private readonly command: string[],
    private readonly size: number,
    private setup: WorkerSetup,
    private readonly handler: QueryHandler,
    private readonly events: Events,
  ) {}

  /** Starts every worker and waits until each serves every listener. */
  async start(): Promise<void> {
    const starting = Array.from({ length: this.size }, () => this.spawn());
    try {
      await Promise.all(starting.map((worker) => this.configure(worker, START_TIMEOUT_MS)));
    } catch (error) {
      await this.close();
      throw new Error(`a DNS worker process did not start (${this.command.join(" ")}): ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  get pids(): number[] {
    return [...this.workers].flatMap((worker) => (worker.pid === undefined ? [] : [worker.pid]));
  }

  /** New data and listeners: every worker serves them (or is replaced) before this resolves. */
  async reconfigure(setup: WorkerSetup, added: DnsListener[], removed: DnsListener[]): Promise<void> {
    this.setup = setup;
    const { config, serial, instanceId } = setup;
    await Promise.all(
      [...this.workers].map(async (worker) => {
        try {
          await Promise.all([
            worker.request({ op: "configure", config, serial, instanceId }, RECONFIGURE_TIMEOUT_MS),
            ...added.map((listener) =>
              worker.request({ op: "listen", listenerKey: listener.listenerKey }, RECONFIGURE_TIMEOUT_MS, listener.udp),
            ),
            ...removed.map((listener) =>
              worker.request({ op: "unlisten", listenerKey: listener.listenerKey }, RECONFIGURE_TIMEOUT_MS),
            ),
          ]);
        } catch (error) {
          if (!worker.alive) return;
          this.events.emit({
            level: "warn",
            kind: "dns.worker.stuck",
            service: "dns",
            message: `DNS worker ${worker.pid} did not take the new data (${(error as Error).message}); replacing it`,
          });
          worker.kill();
          await worker.exited;
        }
      }),
    );
  }

  /** Counters as last reported (what a synchronous metrics() can show). */
  counters(): WorkerCounters {
    const workers = [...this.workers];
    return {
      processes: 1 + workers.length,
      restarts: this.restarts,
      snapshots: [...workers.map((worker) => worker.counters), this.retired],
    };
  }

  /** Asks every worker for its counters now (for a scrape), then reports them. */
  async collect(): Promise<WorkerCounters> {
    await Promise.all(
      [...this.workers].map((worker) => worker.request({ op: "snapshot" }, SNAPSHOT_TIMEOUT_MS).catch(() => undefined)),
    );
    return this.counters();
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const timer of this.restartTimers) clearTimeout(timer);
    this.restartTimers.clear();
    await Promise.all([...this.workers].map((worker) => worker.stop()));
  }

  private spawn(): WorkerProcess {
    const worker = new WorkerProcess(this.command, (message, from) => this.onMessage(message, from));
    this.workers.add(worker);
    void worker.exited.then(({ code, signal }) => this.onExit(worker, code, signal));
    return worker;
  }

  private async configure(worker: WorkerProcess, timeoutMs: number): Promise<void> {
    const { config, serial, instanceId, listeners } = this.setup;
    await Promise.all([
      worker.request({ op: "configure", config, serial, instanceId }, timeoutMs),
      ...listeners.map((listener) =>
        worker.request({ op: "listen", listenerKey: listener.listenerKey }, timeoutMs, listener.udp),
      ),
    ]);
  }

  private onMessage(message: FromWorker, worker: WorkerProcess): void {
    if (message.op === "ask") {
      const { id, message: query, local, listenerKey, remote } = message;
      this.handler.answerDelegated(query, local, listenerKey, remote).then(
        ({ response, remember }) => worker.tell({ op: "answer", id, response, remember }),
        () => worker.tell({ op: "answer", id, response: undefined, remember: undefined }),
      );
    } else if (message.op === "event") {
      this.events.emit({ ...message.event, detail: { ...message.event.detail, worker: worker.pid } });
    }
  }

  private onExit(worker: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void {
    this.workers.delete(worker);
    this.retired = sumSnapshots([this.retired, worker.counters]);
    if (this.closing) return;
    const lived = Date.now() - worker.startedAt;
    this.restartDelay =
      lived >= STABLE_AFTER_MS ? RESTART_DELAY_MS : Math.min(MAX_RESTART_DELAY_MS, this.restartDelay * 2);
    this.events.emit({
      level: "warn",
      kind: "dns.worker.exit",
      service: "dns",
      message: `DNS worker ${worker.pid} exited (${signal ?? `code ${code}`}); starting another in ${this.restartDelay} ms`,
      detail: { pid: worker.pid, code, signal },
    });
    const timer = setTimeout(() => {
      this.restartTimers.delete(timer);
      if (this.closing) return;
      this.restarts += 1;
      const replacement = this.spawn();
      this.configure(replacement, START_TIMEOUT_MS).then(
        () =>
          this.events.emit({
            level: "info",
            kind: "dns.worker.start",
            service: "dns",
            message: `DNS worker ${replacement.pid} serving`,
            detail: { pid: replacement.pid },
          }),
        () => replacement.kill(),
      );
    }, this.restartDelay);
    this.restartTimers.add(timer);
  }
}
