import { randomBytes } from "node:crypto";
import { OperatorError } from "../../errors.js";
import type { Events } from "../../events.js";
import { formatEndpoint } from "../../net/endpoint.js";
import { selfCommand } from "../../process/self-command.js";
import type { RunningService } from "../service.js";
import type { DnsConfig, DnsEndpoint } from "./config.js";
import { QueryHandler } from "./handler.js";
import { type StatusEndpoint, serveStatus } from "./http.js";
import { DnsMetrics } from "./metrics.js";
import { type DnsListener, listen, reportUdpErrors, type UdpErrorReport } from "./server.js";
import { buildState } from "./state.js";
import { DnsWorkerPool } from "./worker-pool.js";

/**
 * The node-local DNS server: authoritative for the cluster's names, a careful forwarder for the
 * rest. `reload` compiles the new data first and swaps it in one step, so every query is answered
 * either from the old data or from the new.
 */
export interface RunningDns extends RunningService<DnsConfig> {
  /** "addr:port" of the /metrics and /healthz endpoint, when one was asked for. */
  readonly httpAddress: string | undefined;
  /** Process ids of the worker processes (none with one process). */
  readonly workerPids: number[];
}

/** How the server runs, as opposed to what it serves (which a reload may change). */
export interface DnsProcesses {
  /** Processes answering UDP, this one included (default 1: no worker processes). */
  workers?: number;
  /** How to start airstrap again (default: the way this process was started); the worker verb is appended. */
  workerCommand?: string[];
}

export async function startDns(config: DnsConfig, events: Events, processes: DnsProcesses = {}): Promise<RunningDns> {
  const metrics = new DnsMetrics();
  const instanceId = randomBytes(4).readUInt32BE(0);
  let serial = Math.floor(Date.now() / 1000);
  let current = config;
  const handler = new QueryHandler(buildState(config, serial, metrics, events), metrics, events, instanceId);
  const handle = handler.handle.bind(handler);
  const onUdpError = reportUdpErrors(metrics, events);
  let listeners = new Map<string, DnsListener>();
  let status: StatusEndpoint | undefined;
  let closed = false;
  let listenerCount = 0;

  const bindAll = async (endpoints: DnsEndpoint[], keep: Map<string, DnsListener>) => {
    const fresh = new Map<string, DnsListener>();
    try {
      for (const endpoint of endpoints) {
        const key = formatEndpoint(endpoint);
        // A listener asked for port 0 is also known by the port it got.
        const existing = [...keep.values()].find(
          (l) => formatEndpoint(l.endpoint) === key || formatEndpoint(l.bound) === key,
        );
        fresh.set(
          key,
          existing ??
            (await bindOne(endpoint, String.fromCharCode(listenerCount++ & 0xffff), handle, config, onUdpError)),
        );
      }
    } catch (error) {
      const kept = new Set(keep.values());
      await Promise.all(
        [...fresh.values()].filter((listener) => !kept.has(listener)).map((listener) => listener.close()),
      );
      throw error;
    }
    return fresh;
  };

  listeners = await bindAll(config.listen, new Map());
  let pool: DnsWorkerPool | undefined;
  const render = () =>
    metrics.render({ cacheEntries: handler.state.cache.size, ...(pool ? { workers: pool.counters() } : {}) });
  const renderFresh = async () =>
    metrics.render({ cacheEntries: handler.state.cache.size, ...(pool ? { workers: await pool.collect() } : {}) });
  try {
    const workers = processes.workers ?? 1;
    if (workers > 1) {
      const command = processes.workerCommand ?? (await selfCommand());
      const setup = { config, serial, instanceId, listeners: [...listeners.values()] };
      pool = new DnsWorkerPool(command, workers - 1, setup, handler, events);
      await pool.start();
    }
    if (config.http) status = await bindStatus(config.http, renderFresh, () => !closed);
  } catch (error) {
    await pool?.close();
    await Promise.all([...listeners.values()].map((listener) => listener.close()));
    throw error;
  }
  events.emit({
    level: "info",
    kind: "dns.start",
    service: "dns",
    message: `DNS for ${config.domain} listening on ${[...listeners.values()].map((l) => formatEndpoint(l.bound)).join(", ")}${pool ? ` (${processes.workers} processes)` : ""}`,
    detail: { upstreams: config.upstreams.map(formatEndpoint), workers: pool?.pids ?? [] },
  });

  return {
    get addresses() {
      return [...listeners.values()].map((listener) => formatEndpoint(listener.bound));
    },
    get httpAddress() {
      return status === undefined ? undefined : formatEndpoint(status.bound);
    },
    get workerPids() {
      return pool?.pids ?? [];
    },
    ready: Promise.resolve(),
    async reload(next) {
      serial = Math.max(serial + 1, Math.floor(Date.now() / 1000));
      const state = buildState(next, serial, metrics, events, handler.state, current);
      const wanted = await bindAll(next.listen, listeners);
      let nextStatus = status;
      if (
        formatEndpoint(next.http ?? { address: "", port: -1 }) !==
        formatEndpoint(current.http ?? { address: "", port: -1 })
      ) {
        try {
          nextStatus = next.http ? await bindStatus(next.http, renderFresh, () => !closed) : undefined;
        } catch (error) {
          const running = new Set(listeners.values());
          await Promise.all([...wanted.values()].filter((l) => !running.has(l)).map((l) => l.close()));
          throw error;
        }
        await status?.close();
      }
      handler.state = state;
      const stillWanted = new Set(wanted.values());
      const running = new Set(listeners.values());
      const removed = [...listeners.values()].filter((listener) => !stillWanted.has(listener));
      const added = [...wanted.values()].filter((listener) => !running.has(listener));
      listeners = wanted;
      status = nextStatus;
      current = next;
      await pool?.reconfigure({ config: next, serial, instanceId, listeners: [...wanted.values()] }, added, removed);
      await Promise.all(removed.map((listener) => listener.close()));
      metrics.reloads += 1;
      events.emit({
        level: "info",
        kind: "dns.reload",
        service: "dns",
        message: `DNS data reloaded (serial ${serial})`,
      });
    },
    metrics: render,
    async close() {
      if (closed) return;
      closed = true;
      await pool?.close();
      await Promise.all([...listeners.values()].map((listener) => listener.close()));
      await status?.close();
      events.emit({ level: "info", kind: "dns.stop", service: "dns", message: "DNS stopped" });
    },
  };
}

async function bindOne(
  endpoint: DnsEndpoint,
  key: string,
  handle: Parameters<typeof listen>[2],
  config: DnsConfig,
  onUdpError: UdpErrorReport,
): Promise<DnsListener> {
  try {
    return await listen(endpoint, key, handle, config.tcpIdleTimeoutMs, onUdpError);
  } catch (error) {
    throw new OperatorError(`DNS cannot listen on ${formatEndpoint(endpoint)}: ${(error as Error).message}`, {
      hint: "another DNS server may hold that port (systemd-resolved, dnsmasq); listen on a specific free address with --listen ADDR:PORT",
      cause: error,
    });
  }
}

async function bindStatus(
  endpoint: DnsEndpoint,
  render: () => Promise<string>,
  healthy: () => boolean,
): Promise<StatusEndpoint> {
  try {
    return await serveStatus(endpoint, render, healthy);
  } catch (error) {
    throw new OperatorError(
      `DNS metrics endpoint cannot listen on ${formatEndpoint(endpoint)}: ${(error as Error).message}`,
      {
        hint: "choose another --http ADDR:PORT",
        cause: error,
      },
    );
  }
}
