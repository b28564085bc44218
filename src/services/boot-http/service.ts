import { OperatorError } from "../../errors.js";
import type { EventLevel, Events } from "../../events.js";
import { formatEndpoint } from "../../net/endpoint.js";
import { parseNetwork } from "../../net/ip.js";
import type { RunningService } from "../service.js";
import type { BootHttpConfig } from "./config.js";
import { BootHttpMetrics } from "./metrics.js";
import { createHandler, type HttpListener, listenHttp, type ServingState } from "./server.js";
import { loadBootData } from "./store.js";

/**
 * The Matchbox-compatible HTTP boot server: iPXE scripts, Ignition, metadata, generic templates
 * and assets for the machines of a Matchbox data folder, plus first-boot reports, /metrics and
 * /healthz. `reload` reads the folder again into a new snapshot and swaps it in at once: every
 * request is answered wholly from the old data or wholly from the new, and bad data never replaces
 * good.
 */
export type RunningBootHttp = RunningService<BootHttpConfig>;

export async function startBootHttp(config: BootHttpConfig, events: Events): Promise<RunningBootHttp> {
  const metrics = new BootHttpMetrics();
  let current = config;
  let state: ServingState = await stateFrom(config);
  const renderMetrics = () => metrics.render({ groups: state.data.groups.length, profiles: state.data.profiles.size });
  const handler = createHandler({ state: () => state, metrics, events, renderMetrics });
  let listeners = await bindAll(config, new Map(), handler);
  let closed = false;
  const draining = new Set<Promise<void>>();
  const tell = (level: EventLevel, kind: string, message: string, detail?: Record<string, unknown>) =>
    events.emit({ level, kind, service: "boot-http", message, ...(detail ? { detail } : {}) });
  tell(
    "info",
    "boot.start",
    `boot HTTP listening on ${addressesOf(listeners).join(", ")}: ${state.data.groups.length} groups from ${config.dataDir}`,
    {
      dataDir: config.dataDir,
      assets: config.assets?.kind === "dir" ? config.assets.path : (config.assets?.kind ?? null),
    },
  );

  return {
    get addresses() {
      return addressesOf(listeners);
    },
    ready: Promise.resolve(),
    async reload(next) {
      let nextState: ServingState;
      try {
        nextState = await stateFrom(next);
      } catch (error) {
        metrics.reloadFailures += 1;
        tell(
          "error",
          "boot.reload.failed",
          `reload refused, still serving the previous data: ${(error as Error).message}`,
        );
        throw error;
      }
      const wanted = await bindAll(next, listeners, handler);
      const stillWanted = new Set(wanted.values());
      const removed = [...listeners.values()].filter((listener) => !stillWanted.has(listener));
      state = nextState;
      listeners = wanted;
      current = next;
      metrics.reloads += 1;
      // They stop accepting now; what they are still sending may finish (close() waits for it).
      for (const listener of removed) {
        const closing = listener.close(next.drainTimeoutMs);
        draining.add(closing);
        void closing.then(() => draining.delete(closing));
      }
      tell(
        "info",
        "boot.reload",
        `boot data reloaded: ${state.data.groups.length} groups, ${state.data.profiles.size} profiles`,
      );
    },
    metrics: renderMetrics,
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([
        ...[...listeners.values()].map((listener) => listener.close(current.drainTimeoutMs)),
        ...draining,
      ]);
      tell("info", "boot.stop", "boot HTTP stopped");
    },
  };
}

async function stateFrom(config: BootHttpConfig): Promise<ServingState> {
  const networks = config.allowedNetworks?.map((text) => {
    const network = parseNetwork(text);
    if (!network)
      throw new OperatorError(`boot HTTP: allowed network "${text}" is not a CIDR network`, {
        hint: "write it like 10.77.0.0/24",
      });
    return network;
  });
  const data = await loadBootData(config.dataDir, { allowCatchAll: config.allowCatchAll });
  return { data, networks, assets: config.assets, reportMaxBytes: config.reportMaxBytes };
}

function addressesOf(listeners: Map<string, HttpListener>): string[] {
  return [...listeners.values()].map((listener) => formatEndpoint(listener.bound));
}

/** Listeners for the config's endpoints, keeping those already bound (a port-0 one is also known by the port it got). */
async function bindAll(
  config: BootHttpConfig,
  keep: Map<string, HttpListener>,
  handler: Parameters<typeof listenHttp>[1],
): Promise<Map<string, HttpListener>> {
  const fresh = new Map<string, HttpListener>();
  const kept = new Set(keep.values());
  try {
    for (const endpoint of config.listen) {
      const key = formatEndpoint(endpoint);
      const existing = [...keep.values()].find(
        (listener) => formatEndpoint(listener.endpoint) === key || formatEndpoint(listener.bound) === key,
      );
      fresh.set(key, existing ?? (await bindOne(endpoint, handler)));
    }
  } catch (error) {
    await Promise.all(
      [...fresh.values()].filter((listener) => !kept.has(listener)).map((listener) => listener.close(0)),
    );
    throw error;
  }
  return fresh;
}

async function bindOne(endpoint: BootHttpConfig["listen"][number], handler: Parameters<typeof listenHttp>[1]) {
  try {
    return await listenHttp(endpoint, handler);
  } catch (error) {
    throw new OperatorError(`boot HTTP cannot listen on ${formatEndpoint(endpoint)}: ${(error as Error).message}`, {
      hint: "another server (a Matchbox?) may hold that port, or the address is not on this machine; choose another with --listen ADDR:PORT",
      cause: error,
    });
  }
}
