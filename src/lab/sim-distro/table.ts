import { nodeRoles } from "./nodes.js";
import type { KubeObject } from "./store.js";

/** What `kubectl get` asks for: a meta.k8s.io Table (it prints these columns as they are). */
export function wantsTable(accept: string | undefined): boolean {
  return accept !== undefined && /as=Table/.test(accept);
}

export function asTable(resource: string, objects: KubeObject[], now: Date) {
  const isNodes = resource === "nodes";
  const columnDefinitions = [
    { name: "Name", type: "string", format: "name", description: "Name", priority: 0 },
    ...(isNodes
      ? [
          { name: "Status", type: "string", format: "", description: "Ready condition", priority: 0 },
          { name: "Roles", type: "string", format: "", description: "Node roles", priority: 0 },
        ]
      : []),
    { name: "Age", type: "string", format: "", description: "Age", priority: 0 },
    ...(isNodes ? [{ name: "Version", type: "string", format: "", description: "Kubelet version", priority: 0 }] : []),
  ];
  const rows = objects.map((object) => {
    const metadata = object.metadata ?? {};
    const age = humanAge(now.getTime() - Date.parse(String(metadata.creationTimestamp ?? now.toISOString())));
    const cells: unknown[] = [metadata.name];
    if (isNodes) {
      const status = object.status as {
        conditions?: Array<{ type: string; status: string }>;
        nodeInfo?: { kubeletVersion?: string };
      };
      const ready = status?.conditions?.find((condition) => condition.type === "Ready")?.status;
      cells.push(
        ready === "True" ? "Ready" : "NotReady",
        nodeRoles(object),
        age,
        status?.nodeInfo?.kubeletVersion ?? "",
      );
    } else {
      cells.push(age);
    }
    return { cells, object: { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata } };
  });
  return { kind: "Table", apiVersion: "meta.k8s.io/v1", metadata: { resourceVersion: "" }, columnDefinitions, rows };
}

export function humanAge(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours}h` : `${Math.floor(hours / 24)}d`;
}
