/**
 * The node-local TCP load balancer: `startLoadBalancer(config, events)` → RunningService.
 * `airstrap node` and `airstrap lb` both start it through this one entry point.
 */
import { OperatorError } from "../../errors.js";
import type { Events } from "../../events.js";
import { formatEndpoint } from "../../net/endpoint.js";
import type { RunningService } from "../service.js";
import { type AdminServer, type HealthReport, startAdminServer } from "./admin-server.js";
import { BackendPool } from "./backend-pool.js";
import type { LbConfig, LbListenerConfig } from "./config.js";
import { type BackendSnapshot, type ListenerSnapshot, renderMetrics } from "./metrics.js";
import { ListenerProxy } from "./proxy/server.js";
import { validateLbConfig } from "./validate.js";

export interface RunningLoadBalancer extends RunningService<LbConfig> {
  /** Bound "addr:port" of a listener by name (ports resolved when 0 was asked for). */
  listenerAddress(name: string): string;
  health(): HealthReport;
}

export async function startLoadBalancer(initial: LbConfig, events: Events): Promise<RunningLoadBalancer> {
  validateLbConfig(initial);
  let config = initial;
  let proxies = new Map<string, ListenerProxy>();
  let admin: AdminServer | undefined;
  let closing: Promise<void> | undefined;
  const draining = new Set<Promise<void>>();

  const open = async (listener: LbListenerConfig): Promise<ListenerProxy> => {
    const proxy = new ListenerProxy(listener, new BackendPool(listener, events, () => config.drainTimeoutMs), events);
    try {
      await proxy.listen();
    } catch (error) {
      await proxy.stopAccepting();
      throw listenError(listener, error);
    }
    proxy.pool.start();
    events.emit({
      level: "info",
      kind: "lb.listener.start",
      service: "lb",
      message: `${listener.name}: listening on ${proxy.address} → ${describeBackends(listener)}`,
      detail: { listener: listener.name, address: proxy.address },
    });
    return proxy;
  };

  const drainInBackground = (proxy: ListenerProxy) => {
    const done = proxy.drain(config.drainTimeoutMs).finally(() => draining.delete(done));
    draining.add(done);
  };

  const health = (): HealthReport => {
    const listeners = [...proxies.values()].map((proxy) => {
      const backends = proxy.pool.list().map((backend) => ({
        name: backend.name,
        address: backend.key,
        tier: backend.tier,
        state: backend.health.state,
        activeConnections: backend.activeConnections,
      }));
      return {
        name: proxy.name,
        address: proxy.address,
        healthy: backends.some((b) => b.state === "up"),
        backends,
      };
    });
    return { healthy: listeners.every((l) => l.healthy), listeners };
  };

  const metrics = (): string => {
    const listeners: ListenerSnapshot[] = [];
    const backends: BackendSnapshot[] = [];
    for (const proxy of proxies.values()) {
      listeners.push({
        name: proxy.name,
        address: proxy.address,
        activeConnections: proxy.activeConnections,
        ...proxy.counters,
      });
      const all = [
        ...proxy.pool.list().map((backend) => ({ backend, tier: backend.tier as BackendSnapshot["tier"] })),
        ...proxy.pool.draining().map((backend) => ({ backend, tier: "removed" as const })),
      ];
      for (const { backend, tier } of all) {
        backends.push({
          listener: proxy.name,
          name: backend.name,
          key: backend.key,
          tier,
          state: backend.health.state,
          activeConnections: backend.activeConnections,
          connectionsTotal: backend.connectionsTotal,
          bytesFromClients: backend.bytesFromClients,
          bytesToClients: backend.bytesToClients,
          connectFailures: backend.connectFailures,
          resets: backend.resets,
          checks: backend.checks,
          checkFailures: backend.checkFailures,
          lastCheckLatencyMs: backend.lastCheckLatencyMs,
        });
      }
    }
    return renderMetrics(listeners, backends);
  };

  const startAdmin = async (where: LbConfig["admin"]) => {
    if (!where) return undefined;
    try {
      return await startAdminServer(where, { health, metrics });
    } catch (error) {
      throw listenError({ name: "admin", ...where }, error);
    }
  };

  try {
    for (const listener of config.listeners) proxies.set(listener.name, await open(listener));
    admin = await startAdmin(config.admin);
  } catch (error) {
    await Promise.all([...proxies.values()].map((proxy) => proxy.drain(0)));
    throw error;
  }

  const addresses = () => [...[...proxies.values()].map((proxy) => proxy.address), ...(admin ? [admin.address] : [])];

  return {
    get addresses() {
      return addresses();
    },
    ready: Promise.resolve(),
    listenerAddress(name) {
      const proxy = proxies.get(name);
      if (!proxy) throw new Error(`no listener named ${name}`);
      return proxy.address;
    },
    health,
    metrics,
    async reload(next) {
      if (closing) throw new Error("load balancer is closed");
      validateLbConfig(next);
      const previous = proxies;
      const kept = new Map<string, ListenerProxy>();
      // Listeners that are gone or moved stop accepting first, so a moved port can be bound again.
      for (const [name, proxy] of previous) {
        const wanted = next.listeners.find((l) => l.name === name);
        if (wanted && sameSocket(wanted, config.listeners.find((l) => l.name === name)!)) {
          kept.set(name, proxy);
        } else {
          await proxy.stopAccepting();
          drainInBackground(proxy);
        }
      }
      const adminWas = config.admin;
      config = next;
      const updated = new Map<string, ListenerProxy>();
      for (const listener of next.listeners) {
        const proxy = kept.get(listener.name);
        if (proxy) {
          proxy.update(listener);
          updated.set(listener.name, proxy);
        } else {
          updated.set(listener.name, await open(listener));
        }
      }
      proxies = updated;
      if (JSON.stringify(next.admin) !== JSON.stringify(adminWas)) {
        await admin?.close();
        admin = undefined;
        admin = await startAdmin(next.admin);
      }
      events.emit({
        level: "info",
        kind: "lb.reload",
        service: "lb",
        message: `reloaded: ${next.listeners.length} listener(s)`,
      });
    },
    close() {
      closing ??= (async () => {
        await Promise.all([
          ...[...proxies.values()].map((proxy) => proxy.drain(config.drainTimeoutMs)),
          ...draining,
          admin?.close(),
        ]);
        events.emit({ level: "info", kind: "lb.stop", service: "lb", message: "load balancer stopped" });
      })();
      return closing;
    },
  };
}

const sameSocket = (a: LbListenerConfig, b: LbListenerConfig) => a.address === b.address && a.port === b.port;

function describeBackends(listener: LbListenerConfig): string {
  const list = (listener.backends.discovered.length > 0 ? listener.backends.discovered : listener.backends.static)
    .map((b) => formatEndpoint(b))
    .join(", ");
  return listener.backends.discovered.length > 0 ? `${list} (standbys: ${listener.backends.static.length})` : list;
}

function listenError(listener: { name: string; address: string; port: number }, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `load balancer listener "${listener.name}" on ${formatEndpoint(listener)}`;
  if (code === "EADDRINUSE") {
    return new OperatorError(`${where}: the address is already in use`, {
      hint: "another process (often the distro's own server on 6443/9345) holds that port; pick another LB port",
    });
  }
  if (code === "EADDRNOTAVAIL") {
    return new OperatorError(`${where}: this machine has no such address`, {
      hint: "listen on an address of this node (ip -brief address shows them)",
    });
  }
  if (code === "EACCES") {
    return new OperatorError(`${where}: permission denied`, {
      hint: "ports below 1024 need root or CAP_NET_BIND_SERVICE",
    });
  }
  return error instanceof Error ? error : new Error(String(error));
}
