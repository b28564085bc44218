import { readFile, rename, rm, writeFile } from "node:fs/promises";
import type { Events } from "../events.js";
import type { KubeClient } from "../kube/client.js";
import { type HostUpgradeConfig, upgradeHostExecutable } from "./host-upgrade.js";
import type { NodeStatus } from "./node-status.js";
import { agentReporter } from "./reporter.js";
import { type ConfigMapObject, siteConfigFrom } from "./site-config.js";
import { type ObjectWatchConfig, watchObject } from "./watch-object.js";

/**
 * The node agent: keeps the host service's plan file equal to what the site ConfigMap says, as it
 * watches it, and reports each outcome (Events, and the node's status ConfigMap). A ConfigMap it
 * cannot use is refused and reported; the file — and so what the node serves — stays the last
 * good one. The host service reloads on its own when the file changes (it watches its plan file).
 */
export interface NodeAgentConfig {
  namespace: string;
  configMap: string;
  key: string;
  nodeName: string;
  /** The host's plan.json, as mounted into the pod. */
  hostPlanFile: string;
  version: string;
  watch: Pick<ObjectWatchConfig, "timeoutSeconds" | "backoff">;
  /** Upgrade the host's executable from the image's at start, when it is older (see host-upgrade.ts). */
  upgrade?: HostUpgradeConfig;
}

export type SyncOutcome = "written" | "unchanged" | "refused" | "unreachable";

export interface RunningNodeAgent {
  /** One read of the ConfigMap (GET), applied. The watch applies each change it sees the same way. */
  syncOnce(): Promise<SyncOutcome>;
  /** Lists and watches the ConfigMap until closed. */
  start(): void;
  /** Applies a ConfigMap as the watch delivers it (undefined: it does not exist). */
  apply(configMap: ConfigMapObject | undefined): Promise<SyncOutcome>;
  close(): Promise<void>;
}

export function startNodeAgent(config: NodeAgentConfig, client: KubeClient, events: Events): RunningNodeAgent {
  const collectionPath = `/api/v1/namespaces/${encodeURIComponent(config.namespace)}/configmaps`;
  const where = `ConfigMap ${config.namespace}/${config.configMap}`;
  const reporter = agentReporter(client, config, events);
  let serving: { generation: string; siteResourceVersion?: string } | undefined;
  let running: Promise<SyncOutcome> = Promise.resolve("unchanged");
  let watch: { stop(): Promise<void> } | undefined;
  let started: Promise<void> | undefined;
  let closed = false;
  let hostVersion: string | undefined;

  async function upgradeHost(upgrade: HostUpgradeConfig): Promise<void> {
    const result = await upgradeHostExecutable(upgrade);
    if (result.outcome === "absent") {
      events.emit({
        level: "warn",
        kind: "node-agent.host.absent",
        message: `${upgrade.hostExecutable} does not run: nothing to upgrade`,
      });
      return;
    }
    hostVersion = result.outcome === "upgraded" ? result.to : result.hostVersion;
    if (result.outcome === "upgraded") {
      const message = `${config.nodeName}: airstrap ${result.from} → ${result.to} (sha256 ${result.sha256}); the previous executable is ${result.previous}`;
      events.emit({ level: "info", kind: "node-agent.host.upgraded", message });
      await reporter.event("HostUpgraded", result.to, message);
    } else if (result.outcome === "failed") {
      const message = `${config.nodeName}: upgrading ${upgrade.hostExecutable} to ${config.version} failed: ${result.problem}; the host keeps ${result.hostVersion ?? "its executable"}`;
      events.emit({ level: "error", kind: "node-agent.host.failed", message });
      await reporter.event("HostUpgradeFailed", config.version, message);
    } else {
      events.emit({
        level: "info",
        kind: "node-agent.host.current",
        message: `${upgrade.hostExecutable} is airstrap ${result.hostVersion} (${result.outcome === "current" ? "this version" : "newer than this image's: left alone"})`,
      });
    }
  }

  const status = (state: NodeStatus["state"], message: string): NodeStatus => {
    return {
      node: config.nodeName,
      state,
      message,
      agentVersion: config.version,
      ...(hostVersion ? { hostVersion } : {}),
      ...(serving ?? {}),
    };
  };

  async function applyNow(configMap: ConfigMapObject | undefined): Promise<SyncOutcome> {
    const site = configMap
      ? siteConfigFrom(configMap, config.key, config.nodeName)
      : { ok: false as const, generation: "none", problem: `${where} does not exist` };
    if (!site.ok) {
      const message = `${site.problem}; ${config.nodeName} keeps its last good configuration`;
      events.emit({ level: "error", kind: "node-agent.refused", message });
      await reporter.event("InvalidConfiguration", site.generation, message);
      await reporter.status(status("Refused", message));
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
    const siteResourceVersion = configMap?.metadata?.resourceVersion;
    serving = { generation: site.generation, ...(siteResourceVersion ? { siteResourceVersion } : {}) };
    const message = `${config.nodeName} serves generation ${site.generation} with airstrap ${hostVersion ?? config.version}`;
    await reporter.event("Synced", site.generation, message);
    await reporter.status(status("Serving", message));
    return outcome;
  }

  // One apply at a time, in the order asked.
  const apply = (configMap: ConfigMapObject | undefined) => {
    running = running.then(
      () => applyNow(configMap),
      () => applyNow(configMap),
    );
    return running;
  };

  return {
    apply,
    async syncOnce() {
      let configMap: ConfigMapObject;
      try {
        configMap = await client.getJson<ConfigMapObject>(`${collectionPath}/${encodeURIComponent(config.configMap)}`);
      } catch (error) {
        events.emit({
          level: "warn",
          kind: "node-agent.unreachable",
          message: `cannot read ${where}: ${(error as Error).message}; serving the last good configuration`,
        });
        return "unreachable";
      }
      return apply(configMap);
    },
    start() {
      started ??= (async () => {
        if (config.upgrade) await upgradeHost(config.upgrade);
        if (closed) return;
        watch = watchObject<ConfigMapObject>(
          client,
          { collectionPath, name: config.configMap, ...config.watch },
          async (configMap) => {
            await apply(configMap);
          },
          events,
        );
      })();
    },
    async close() {
      closed = true;
      await started;
      await watch?.stop();
      await running.catch(() => undefined);
    },
  };
}
