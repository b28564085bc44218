import { readFile, rename, rm, writeFile } from "node:fs/promises";
import type { Events } from "../events.js";
import type { KubeClient } from "../kube/client.js";
import { reportEvent } from "./kube-events.js";
import { type ConfigMapObject, siteConfigFrom } from "./site-config.js";

/**
 * The node agent: keeps the host service's plan file equal to what the site ConfigMap says, and
 * reports each outcome as an Event. A ConfigMap it cannot use is refused and reported; the file —
 * and so what the node serves — stays the last good one. The host service reloads on its own when
 * the file changes (node services watch their plan file).
 */
export interface NodeAgentConfig {
  namespace: string;
  configMap: string;
  key: string;
  nodeName: string;
  /** The host's plan.json, as mounted into the pod. */
  hostPlanFile: string;
  version: string;
  intervalMs: number;
}

export type SyncOutcome = "written" | "unchanged" | "refused" | "unreachable";

export interface RunningNodeAgent {
  /** One look at the ConfigMap; the loop calls it every interval. */
  syncOnce(): Promise<SyncOutcome>;
  /** Looks now, then every interval, until closed. */
  start(): void;
  close(): Promise<void>;
}

export function startNodeAgent(config: NodeAgentConfig, client: KubeClient, events: Events): RunningNodeAgent {
  const path = `/api/v1/namespaces/${encodeURIComponent(config.namespace)}/configmaps/${encodeURIComponent(config.configMap)}`;
  let reported = "";
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let running: Promise<SyncOutcome> | undefined;

  async function report(reason: "Synced" | "InvalidConfiguration", generation: string, message: string) {
    const key = `${reason}/${generation}`;
    if (key === reported) return;
    const event = reportEvent({ ...config, reason, generation, message, now: new Date() });
    const response = await client
      .post(`/api/v1/namespaces/${encodeURIComponent(config.namespace)}/events`, event)
      .catch((error: Error) => ({ status: 0, body: error.message }));
    if (response.status === 201 || response.status === 200 || response.status === 409) reported = key;
    else
      events.emit({
        level: "warn",
        kind: "node-agent.report",
        message: `could not report ${reason} as an Event (${response.status} ${response.body.slice(0, 200)})`,
      });
  }

  async function sync(): Promise<SyncOutcome> {
    let configMap: ConfigMapObject;
    try {
      configMap = await client.getJson<ConfigMapObject>(path);
    } catch (error) {
      events.emit({
        level: "warn",
        kind: "node-agent.unreachable",
        message: `cannot read ConfigMap ${config.namespace}/${config.configMap}: ${(error as Error).message}; serving the last good configuration`,
      });
      return "unreachable";
    }
    const site = siteConfigFrom(configMap, config.key, config.nodeName);
    if (!site.ok) {
      events.emit({
        level: "error",
        kind: "node-agent.refused",
        message: `${site.problem}; serving the last good configuration`,
      });
      await report(
        "InvalidConfiguration",
        site.generation,
        `${site.problem}; ${config.nodeName} keeps its last good configuration`,
      );
      return "refused";
    }
    const current = await readFile(config.hostPlanFile, "utf8").catch(() => undefined);
    const outcome = current === site.planJson ? "unchanged" : "written";
    if (outcome === "written") {
      // Temp file and rename in the same folder: the host service reads either the old plan or the new one.
      const temp = `${config.hostPlanFile}.agent-${process.pid}`;
      try {
        await writeFile(temp, site.planJson, { mode: 0o644 });
        await rename(temp, config.hostPlanFile);
      } finally {
        await rm(temp, { force: true });
      }
      events.emit({
        level: "info",
        kind: "node-agent.synced",
        message: `wrote ${config.hostPlanFile} (generation ${site.generation})`,
      });
    }
    await report(
      "Synced",
      site.generation,
      `${config.nodeName} serves generation ${site.generation} with airstrap ${config.version}`,
    );
    return outcome;
  }

  const syncOnce = () => {
    running = (running ?? Promise.resolve("unchanged" as SyncOutcome)).then(sync, sync);
    return running;
  };
  const loop = () => {
    if (closed) return;
    void syncOnce().finally(() => {
      if (!closed) timer = setTimeout(loop, config.intervalMs);
    });
  };
  return {
    syncOnce,
    start() {
      loop();
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
