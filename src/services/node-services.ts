import { unwatchFile, watchFile } from "node:fs";
import type { Events } from "../events.js";
import type { Plan } from "../plan/types.js";
import { dnsConfigFromPlan, type NodeServeOptions } from "./dns/config.js";
import { startDns } from "./dns/service.js";
import { type LbFromPlanOptions, lbConfigFromPlan } from "./lb/config.js";
import { startLoadBalancer } from "./lb/service.js";
import { type NodeStatusConfig, nodeStatusConfigFromPlan } from "./node-status/config.js";
import { type RunningNodeStatus, startNodeStatus } from "./node-status/service.js";

export interface NodeServiceOptions {
  dns?: NodeServeOptions;
  lb?: LbFromPlanOptions;
  /** The read-only status listener for the bootstrap machine's page: where (default the node's address), or off. */
  status?: { listen?: NodeStatusConfig["listen"] } | false;
}

export interface RunningNodeServices {
  addresses: string[];
  reload(plan: Plan): Promise<void>;
  close(): Promise<void>;
}

/**
 * The per-node set (seed 000): the DNS server that answers `<cluster>.<domain>` with this node, and
 * the load balancer that forwards the API and join ports to healthy servers. Both come from the
 * same plan, so they reload together.
 */
export async function startNodeServices(
  plan: Plan,
  node: string,
  options: NodeServiceOptions,
  events: Events,
): Promise<RunningNodeServices> {
  const dns = await startDns(dnsConfigFromPlan(plan, node, options.dns), events, {
    // One process by default: a node's own lookups need no more, and each process costs ~70 MB.
    workers: options.dns?.workers ?? plan.dns.workers,
  });
  let lb: Awaited<ReturnType<typeof startLoadBalancer>>;
  try {
    lb = await startLoadBalancer(lbConfigFromPlan(plan, node, options.lb), events);
  } catch (error) {
    await dns.close();
    throw error;
  }
  const statusOptions = options.status;
  const statusConfig = (from: Plan) =>
    statusOptions === false || statusOptions === undefined
      ? undefined
      : nodeStatusConfigFromPlan(from, node, statusOptions.listen);
  let status: RunningNodeStatus | undefined;
  let dnsClosed = false;
  try {
    const config = statusConfig(plan);
    if (config !== undefined)
      status = await startNodeStatus(config, events, {
        dnsServing: () => !dnsClosed,
        dnsMetrics: () => dns.metrics(),
        lbHealth: () => lb.health(),
        lbMetrics: () => lb.metrics(),
      });
  } catch (error) {
    await Promise.all([dns.close(), lb.close()]);
    throw error;
  }
  await Promise.all([dns.ready, lb.ready]);
  return {
    addresses: [
      ...dns.addresses.map((a) => `dns ${a}`),
      ...lb.addresses.map((a) => `lb ${a}`),
      ...(status?.addresses.map((a) => `status ${a}`) ?? []),
    ],
    async reload(next) {
      // Build every config first: a bad plan changes nothing.
      const dnsConfig = dnsConfigFromPlan(next, node, options.dns);
      const lbConfig = lbConfigFromPlan(next, node, options.lb);
      const nextStatus = statusConfig(next);
      await dns.reload(dnsConfig);
      await lb.reload(lbConfig);
      if (nextStatus !== undefined) await status?.reload(nextStatus);
    },
    async close() {
      await status?.close();
      dnsClosed = true;
      await Promise.all([dns.close(), lb.close()]);
    },
  };
}

/** Calls `onChange` when the file's content changes (polling: it works on every filesystem and inside containers). */
export function watchPlanFile(path: string, onChange: () => void, intervalMs = 250): () => void {
  const listener = (current: { mtimeMs: number; size: number }, previous: { mtimeMs: number; size: number }) => {
    if (current.mtimeMs !== previous.mtimeMs || current.size !== previous.size) onChange();
  };
  watchFile(path, { interval: intervalMs, persistent: true }, listener);
  return () => unwatchFile(path, listener);
}
