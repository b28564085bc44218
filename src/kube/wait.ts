import { setTimeout as sleep } from "node:timers/promises";
import { OperatorError } from "../errors.js";
import type { Events } from "../events.js";
import type { Plan } from "../plan/types.js";
import { type KubeClient, type NodeStatus, nodeStatuses } from "./client.js";

/**
 * Polls until the API answers /readyz and every host of the plan is a Ready node; reports progress
 * as events (once per change, not per poll). Throws an OperatorError naming what is still missing.
 */
export async function waitForCluster(
  client: KubeClient,
  plan: Plan,
  events: Events,
  options: { timeoutMs: number; intervalMs?: number },
): Promise<NodeStatus[]> {
  const deadline = Date.now() + options.timeoutMs;
  let lastSummary = "";
  let lastError = "";
  for (;;) {
    let nodes: NodeStatus[] = [];
    try {
      const ready = await client.get("/readyz");
      if (ready.status !== 200) throw new Error(`/readyz answered ${ready.status}`);
      nodes = nodeStatuses(await client.getJson("/api/v1/nodes"));
      lastError = "";
    } catch (error) {
      lastError = (error as Error).message;
    }
    const missing = plan.hosts.filter((h) => !nodes.some((n) => n.name === h.name && n.ready)).map((h) => h.name);
    const summary = lastError || (missing.length ? `waiting for ${missing.join(", ")}` : "all nodes Ready");
    if (summary !== lastSummary) {
      events.emit({
        level: "info",
        kind: "kube.wait",
        message: summary,
        detail: { ready: nodes.filter((n) => n.ready).map((n) => n.name) },
      });
      lastSummary = summary;
    }
    if (!lastError && missing.length === 0) return nodes;
    if (Date.now() > deadline) {
      throw new OperatorError(`the cluster is not ready after ${Math.round(options.timeoutMs / 1000)} s: ${summary}`, {
        hint: "look at the hosts that are missing (journalctl on them), or wait longer with --timeout",
      });
    }
    await sleep(options.intervalMs ?? 2000);
  }
}
