import type { Events } from "../events.js";
import type { KubeClient } from "../kube/client.js";
import { type AgentReason, reportEvent } from "./kube-events.js";
import { type NodeStatus, nodeStatusConfigMap } from "./node-status.js";

/**
 * How the agent tells the cluster what its node serves: an Event per outcome and generation (what
 * happened), and the node's status ConfigMap (what is true now). Each is sent once per change; a
 * failure to send is logged and tried again with the next change or sync.
 */
export interface AgentReporter {
  event(reason: AgentReason, generation: string, message: string): Promise<void>;
  status(status: NodeStatus): Promise<void>;
}

export function agentReporter(
  client: KubeClient,
  where: { namespace: string; configMap: string; nodeName: string; version: string },
  events: Events,
): AgentReporter {
  const namespace = encodeURIComponent(where.namespace);
  let lastEvent = "";
  let lastStatus = "";
  const warn = (what: string, response: { status: number; body: string }) =>
    events.emit({
      level: "warn",
      kind: "node-agent.report",
      message: `could not report ${what} (${response.status} ${response.body.slice(0, 200)})`,
    });
  const failed = (error: Error) => ({ status: 0, body: error.message });
  return {
    async event(reason, generation, message) {
      const key = `${reason}/${generation}/${message}`;
      if (key === lastEvent) return;
      const event = reportEvent({ ...where, reason, generation, message, now: new Date() });
      const response = await client.post(`/api/v1/namespaces/${namespace}/events`, event).catch(failed);
      if (response.status === 201 || response.status === 200 || response.status === 409) lastEvent = key;
      else warn(`${reason} as an Event`, response);
    },
    async status(status) {
      const key = JSON.stringify(status);
      if (key === lastStatus) return;
      const object = nodeStatusConfigMap(where.namespace, status, new Date());
      const path = `/api/v1/namespaces/${namespace}/configmaps`;
      // PUT replaces it whole (no resourceVersion: only this node's agent writes it); the first time, create it.
      let response = await client.put(`${path}/${encodeURIComponent(object.metadata.name)}`, object).catch(failed);
      if (response.status === 404) response = await client.post(path, object).catch(failed);
      if (response.status === 200 || response.status === 201) lastStatus = key;
      else warn(`the status ConfigMap ${object.metadata.name}`, response);
    },
  };
}
