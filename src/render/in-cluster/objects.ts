import { nodeStatusName } from "../../node-agent/node-status.js";
import { AIRSTRAP_PATHS } from "../../plan/distro-paths.js";
import type { Plan } from "../../plan/types.js";

/**
 * The in-cluster side of the node services (issue 16), as plain Kubernetes objects: the cluster
 * owns what each node serves and which airstrap runs, while the host process (airstrap-node)
 * keeps serving at boot. Pure: the plan, the manifest text and the image name in, objects out.
 */
export const IN_CLUSTER_NAMESPACE = "airstrap-system";
export const AGENT_NAME = "airstrap-node-agent";
export const SITE_CONFIGMAP = "airstrap-site";
/** The key of the ConfigMap that holds the cluster manifest, validated by the agent as `validate` does. */
export const SITE_MANIFEST_KEY = "cluster.yaml";
/** The host service's DNS health endpoint (airstrap node --dns-http default). */
export const HOST_DNS_HEALTH = { host: "127.0.0.1", port: 9153 } as const;

export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
} & Record<string, unknown>;

export interface InClusterInput {
  plan: Plan;
  /** The cluster manifest as the operator wrote it. */
  manifestText: string;
  /** Image reference of airstrap, as pre-loaded on every node and pushed to the site registry. */
  image: string;
}

export function inClusterObjects(input: InClusterInput): KubeObject[] {
  const labels = {
    "app.kubernetes.io/name": "airstrap",
    "app.kubernetes.io/component": "node-agent",
    "app.kubernetes.io/instance": input.plan.name,
  };
  const namespace = IN_CLUSTER_NAMESPACE;
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace, labels } },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: AGENT_NAME, namespace } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: AGENT_NAME, namespace },
      rules: [
        // Only its own ConfigMap, read and watched (list and watch by field selector on its name).
        {
          apiGroups: [""],
          resources: ["configmaps"],
          resourceNames: [SITE_CONFIGMAP],
          verbs: ["get", "list", "watch"],
        },
        // Each node's status ConfigMap (see node-agent/node-status.ts). Creating cannot be limited by
        // name in RBAC; replacing can, to the site's nodes.
        { apiGroups: [""], resources: ["configmaps"], verbs: ["create"] },
        {
          apiGroups: [""],
          resources: ["configmaps"],
          resourceNames: input.plan.hosts.map((host) => nodeStatusName(host.name)),
          verbs: ["get", "update"],
        },
        { apiGroups: ["", "events.k8s.io"], resources: ["events"], verbs: ["create", "patch"] },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: AGENT_NAME, namespace },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: AGENT_NAME },
      subjects: [{ kind: "ServiceAccount", name: AGENT_NAME, namespace }],
    },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: SITE_CONFIGMAP, namespace, labels },
      data: { [SITE_MANIFEST_KEY]: input.manifestText },
    },
    daemonSet(input, labels),
  ];
}

/** Where the host's airstrap lives (/usr/local/bin): the agent upgrades it from its image. */
const binDir = AIRSTRAP_PATHS.binary.slice(0, AIRSTRAP_PATHS.binary.lastIndexOf("/"));

function daemonSet(input: InClusterInput, labels: Record<string, string>): KubeObject {
  const health = { httpGet: { host: HOST_DNS_HEALTH.host, port: HOST_DNS_HEALTH.port, path: "/healthz" } };
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: AGENT_NAME, namespace: IN_CLUSTER_NAMESPACE, labels },
    spec: {
      selector: { matchLabels: labels },
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: AGENT_NAME,
          // The node's own network: the agent reaches the host service on loopback, as the probes do.
          hostNetwork: true,
          dnsPolicy: "ClusterFirstWithHostNet",
          priorityClassName: "system-node-critical",
          tolerations: [
            { key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" },
            { key: "node-role.kubernetes.io/master", operator: "Exists", effect: "NoSchedule" },
            { key: "node-role.kubernetes.io/etcd", operator: "Exists", effect: "NoExecute" },
            { key: "CriticalAddonsOnly", operator: "Exists" },
          ],
          containers: [
            {
              name: "agent",
              image: input.image,
              // Pre-loaded from the distro's images folder: a node never needs a registry to start it.
              imagePullPolicy: "IfNotPresent",
              args: ["node", "agent", "--namespace", IN_CLUSTER_NAMESPACE, "--configmap", SITE_CONFIGMAP],
              env: [
                { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
                { name: "NODE_ADDRESS", valueFrom: { fieldRef: { fieldPath: "status.hostIP" } } },
                { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
              ],
              resources: {
                requests: { cpu: "10m", memory: "48Mi" },
                limits: { memory: "160Mi" },
              },
              // The pod is ready when the host service it manages answers: what this node serves.
              readinessProbe: { ...health, periodSeconds: 10, failureThreshold: 3 },
              livenessProbe: { ...health, initialDelaySeconds: 30, periodSeconds: 20, failureThreshold: 6 },
              // Root only to write the root-owned host config, with no capability but the one the image's
              // executable carries as a file capability: without it in the bounding set the kernel
              // refuses to run that file at all (EPERM), as with CoreDNS's image.
              securityContext: {
                runAsUser: 0,
                runAsGroup: 0,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] },
              },
              volumeMounts: [
                { name: "host-config", mountPath: "/host/etc/airstrap" },
                // The folder, not the file: the new executable is renamed over the old in place.
                { name: "host-bin", mountPath: `/host${binDir}` },
              ],
            },
          ],
          volumes: [
            { name: "host-config", hostPath: { path: "/etc/airstrap", type: "Directory" } },
            { name: "host-bin", hostPath: { path: binDir, type: "Directory" } },
          ],
        },
      },
    },
  };
}
