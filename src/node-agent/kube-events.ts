/** The Kubernetes Event the agent reports each outcome with, on its ConfigMap. Pure. */
export type AgentReason = "Synced" | "InvalidConfiguration" | "HostUpgraded" | "HostUpgradeFailed";
const WARNINGS: AgentReason[] = ["InvalidConfiguration", "HostUpgradeFailed"];

export interface AgentReport {
  namespace: string;
  configMap: string;
  nodeName: string;
  reason: AgentReason;
  generation: string;
  version: string;
  message: string;
  now: Date;
}

export function reportEvent(report: AgentReport) {
  const time = report.now.toISOString();
  // One name per node, outcome and generation: a repeat of the same report is the same Event.
  const name = `${report.configMap}.${report.nodeName}.${report.reason.toLowerCase()}.${report.generation}`;
  return {
    apiVersion: "v1",
    kind: "Event",
    metadata: {
      name: name
        .toLowerCase()
        .replace(/[^a-z0-9.-]/g, "-")
        .slice(0, 253),
      namespace: report.namespace,
      labels: { "airstrap.io/node": report.nodeName, "airstrap.io/generation": report.generation },
      annotations: { "airstrap.io/version": report.version },
    },
    involvedObject: { apiVersion: "v1", kind: "ConfigMap", namespace: report.namespace, name: report.configMap },
    reason: report.reason,
    message: report.message,
    type: WARNINGS.includes(report.reason) ? "Warning" : "Normal",
    source: { component: "airstrap-node-agent", host: report.nodeName },
    reportingComponent: "airstrap-node-agent",
    reportingInstance: report.nodeName,
    firstTimestamp: time,
    lastTimestamp: time,
    count: 1,
  };
}
