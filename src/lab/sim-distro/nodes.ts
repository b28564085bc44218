import type { KubeObject } from "./store.js";

/** A node with no heartbeat for this long is no longer Ready (the real node lifecycle controller's grace period). */
export const NODE_GRACE_MS = 40_000;

export interface NodeRegistration {
  name: string;
  address: string;
  role: "server" | "agent";
  labels: Record<string, string>;
  taints: string[];
  version: string;
  /** Where a server's supervisor answers, for replication between servers. */
  supervisorUrl?: string;
}

export const SUPERVISOR_ANNOTATION = "airstrap.io/simulated-supervisor";

export function nodeKey(name: string): string {
  return `/v1/nodes/_/${name}`;
}

/** The Node object a join creates; the heartbeat time is what decides Ready when it is read. */
export function nodeObject(registration: NodeRegistration, now: Date, created?: string): KubeObject {
  const roleLabels: Record<string, string> =
    registration.role === "server"
      ? {
          "node-role.kubernetes.io/control-plane": "true",
          "node-role.kubernetes.io/master": "true",
          "node-role.kubernetes.io/etcd": "true",
        }
      : {};
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: registration.name,
      creationTimestamp: created ?? now.toISOString(),
      labels: {
        "kubernetes.io/hostname": registration.name,
        "kubernetes.io/os": "linux",
        ...roleLabels,
        ...registration.labels,
      },
      annotations: {
        "airstrap.io/simulation": "this node was registered by airstrap's simulated distro (lab only)",
        ...(registration.supervisorUrl ? { [SUPERVISOR_ANNOTATION]: registration.supervisorUrl } : {}),
      },
    },
    spec: {
      taints: registration.taints.map(parseTaint),
    },
    status: {
      addresses: [
        { type: "InternalIP", address: registration.address },
        { type: "Hostname", address: registration.name },
      ],
      nodeInfo: { kubeletVersion: registration.version, operatingSystem: "linux", architecture: "amd64" },
      conditions: [{ type: "Ready", lastHeartbeatTime: now.toISOString() }],
    },
  };
}

/** "key=value:Effect" or "key:Effect", as in the distro's node-taint option. */
export function parseTaint(text: string): { key: string; value?: string; effect: string } {
  const [pair = "", effect = "NoSchedule"] = text.split(":");
  const [key = "", value] = pair.split("=");
  return value === undefined ? { key, effect } : { key, value, effect };
}

/** The node as the API shows it now: Ready while heartbeats are fresh, Unknown after the grace period. */
export function nodeWithReadiness(node: KubeObject, now: Date): KubeObject {
  const status = (node.status ?? {}) as { conditions?: Array<{ type: string; lastHeartbeatTime?: string }> };
  const heartbeat = status.conditions?.find((condition) => condition.type === "Ready")?.lastHeartbeatTime;
  const fresh = heartbeat !== undefined && now.getTime() - Date.parse(heartbeat) < NODE_GRACE_MS;
  const ready = fresh
    ? { status: "True", reason: "KubeletReady", message: "kubelet is posting ready status (simulated)" }
    : { status: "Unknown", reason: "NodeStatusUnknown", message: "Kubelet stopped posting node status." };
  return {
    ...node,
    status: {
      ...status,
      conditions: [{ type: "Ready", lastHeartbeatTime: heartbeat, lastTransitionTime: heartbeat, ...ready }],
    },
  };
}

export function nodeRoles(node: KubeObject): string {
  const labels = (node.metadata?.labels ?? {}) as Record<string, string>;
  const roles = Object.keys(labels)
    .filter((label) => label.startsWith("node-role.kubernetes.io/"))
    .map((label) => label.slice("node-role.kubernetes.io/".length))
    .sort();
  return roles.length > 0 ? roles.join(",") : "<none>";
}
