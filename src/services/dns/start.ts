import { randomBytes } from "node:crypto";
import { OperatorError } from "../../errors.js";
import type { Events } from "../../events.js";
import type { RunningService } from "../service.js";
import { NetworkMatcher, parseCidr } from "./address.js";
import { AnswerCache } from "./cache.js";
import { type DnsConfig, type DnsEndpoint, formatEndpoint } from "./config.js";
import { Forwarder } from "./forwarder.js";
import { type DnsState, QueryHandler } from "./handler.js";
import { type StatusEndpoint, serveStatus } from "./http.js";
import { DnsMetrics } from "./metrics.js";
import { type DnsListener, listen } from "./server.js";
import { compileZones } from "./zone.js";

/**
 * The node-local DNS server: authoritative for the cluster's names, a careful forwarder for the
 * rest. `reload` compiles the new data first and swaps it in one step, so every query is answered
 * either from the old data or from the new.
 */
export interface RunningDns extends RunningService<DnsConfig> {
  /** "addr:port" of the /metrics and /healthz endpoint, when one was asked for. */
  readonly httpAddress: string | undefined;
}

export async function startDns(config: DnsConfig, events: Events): Promise<RunningDns> {
  const metrics = new DnsMetrics();
  const instanceId = randomBytes(4).readUInt32BE(0);
  let serial = Math.floor(Date.now() / 1000);
  let current = config;
  const handler = new QueryHandler(buildState(config, serial, metrics, events), metrics, events, instanceId);
  const handle = handler.handle.bind(handler);
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
          existing ?? (await bindOne(endpoint, String.fromCharCode(listenerCount++ & 0xffff), handle, config)),
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
  try {
    if (config.http) status = await bindStatus(config.http, metrics, handler, () => !closed);
  } catch (error) {
    await Promise.all([...listeners.values()].map((listener) => listener.close()));
    throw error;
  }
  events.emit({
    level: "info",
    kind: "dns.start",
    service: "dns",
    message: `DNS for ${config.domain} listening on ${[...listeners.values()].map((l) => formatEndpoint(l.bound)).join(", ")}`,
    detail: { upstreams: config.upstreams.map(formatEndpoint) },
  });

  return {
    get addresses() {
      return [...listeners.values()].map((listener) => formatEndpoint(listener.bound));
    },
    get httpAddress() {
      return status === undefined ? undefined : formatEndpoint(status.bound);
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
          nextStatus = next.http ? await bindStatus(next.http, metrics, handler, () => !closed) : undefined;
        } catch (error) {
          const running = new Set(listeners.values());
          await Promise.all([...wanted.values()].filter((l) => !running.has(l)).map((l) => l.close()));
          throw error;
        }
        await status?.close();
      }
      handler.state = state;
      const stillWanted = new Set(wanted.values());
      const removed = [...listeners.values()].filter((listener) => !stillWanted.has(listener));
      listeners = wanted;
      status = nextStatus;
      current = next;
      await Promise.all(removed.map((listener) => listener.close()));
      metrics.reloads += 1;
      events.emit({
        level: "info",
        kind: "dns.reload",
        service: "dns",
        message: `DNS data reloaded (serial ${serial})`,
      });
    },
    metrics: () => metrics.render({ cacheEntries: handler.state.cache.size }),
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...listeners.values()].map((listener) => listener.close()));
      await status?.close();
      events.emit({ level: "info", kind: "dns.stop", service: "dns", message: "DNS stopped" });
    },
  };
}

/** Compiles everything a configuration implies; throws OperatorError before anything is swapped. */
function buildState(
  config: DnsConfig,
  serial: number,
  metrics: DnsMetrics,
  events: Events,
  previous?: DnsState,
  previousConfig?: DnsConfig,
): DnsState {
  for (const cidr of config.allowedNetworks) {
    if (parseCidr(cidr) === undefined) {
      throw new OperatorError(`DNS allowed network "${cidr}" is not a network`, {
        hint: "write networks as 10.77.0.0/24 or fd00::/64",
      });
    }
  }
  const zones = compileZones(config, serial);
  const sameUpstreams =
    previous !== undefined &&
    previousConfig !== undefined &&
    JSON.stringify(previousConfig.upstreams) === JSON.stringify(config.upstreams) &&
    previousConfig.upstreamTimeoutMs === config.upstreamTimeoutMs &&
    previousConfig.cacheEntries === config.cacheEntries;
  return {
    zones,
    matcher: new NetworkMatcher(config.allowedNetworks),
    forwarder: sameUpstreams
      ? previous.forwarder
      : new Forwarder(config.upstreams, config.upstreamTimeoutMs, metrics, events),
    cache: sameUpstreams ? previous.cache : new AnswerCache(config.cacheEntries),
    encoded: new Map(),
  };
}

async function bindOne(
  endpoint: DnsEndpoint,
  key: string,
  handle: Parameters<typeof listen>[2],
  config: DnsConfig,
): Promise<DnsListener> {
  try {
    return await listen(endpoint, key, handle, config.tcpIdleTimeoutMs);
  } catch (error) {
    throw new OperatorError(`DNS cannot listen on ${formatEndpoint(endpoint)}: ${(error as Error).message}`, {
      hint: "another DNS server may hold that port (systemd-resolved, dnsmasq); listen on a specific free address with --listen ADDR:PORT",
      cause: error,
    });
  }
}

async function bindStatus(
  endpoint: DnsEndpoint,
  metrics: DnsMetrics,
  handler: QueryHandler,
  healthy: () => boolean,
): Promise<StatusEndpoint> {
  try {
    return await serveStatus(endpoint, () => metrics.render({ cacheEntries: handler.state.cache.size }), healthy);
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
