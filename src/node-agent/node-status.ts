/**
 * What one node serves, as a ConfigMap of its own (`airstrap-node-<node>`), written only by that
 * node's agent. Why not the site ConfigMap: a ConfigMap has no status subresource, so a status
 * there would be an edit of the very object every agent watches (each report would wake every
 * node), would race the operator's and GitOps' edits, and would be overwritten when the auto-deploy
 * file is applied again. Events say what happened; this object says what is true now. Pure.
 */
export const NODE_STATUS_LABEL = "airstrap.io/node-status";

/** `airstrap-node-<node>`, folded into a valid object name. */
export function nodeStatusName(nodeName: string): string {
  const folded = nodeName.toLowerCase().replace(/[^a-z0-9.-]/g, "-");
  return `airstrap-node-${folded}`.slice(0, 253).replace(/[.-]+$/, "");
}

export interface NodeStatus {
  node: string;
  /** The generation the node serves (first 16 hex digits of the manifest's SHA-256), once one was written. */
  generation?: string;
  /** The site ConfigMap's resourceVersion that generation came from. */
  siteResourceVersion?: string;
  /** The agent's airstrap (its image) and the host executable's, when known. */
  agentVersion: string;
  hostVersion?: string;
  /** Serving: the last ConfigMap was applied; Refused: it was not, and the node serves the generation above. */
  state: "Serving" | "Refused";
  message: string;
}

export function nodeStatusConfigMap(namespace: string, status: NodeStatus, now: Date) {
  const data: Record<string, string> = {
    node: status.node,
    state: status.state,
    message: status.message,
    agentVersion: status.agentVersion,
    ...(status.hostVersion ? { hostVersion: status.hostVersion } : {}),
    ...(status.generation ? { generation: status.generation } : {}),
    ...(status.siteResourceVersion ? { siteResourceVersion: status.siteResourceVersion } : {}),
    updated: now.toISOString(),
  };
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      name: nodeStatusName(status.node),
      namespace,
      labels: { [NODE_STATUS_LABEL]: "true", "app.kubernetes.io/name": "airstrap" },
    },
    data,
  };
}
