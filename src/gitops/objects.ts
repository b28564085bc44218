import { createHash } from "node:crypto";
import type { KubeObject } from "../kube/apply.js";

/**
 * The objects `gitops bootstrap` applies besides Flux's own components: the flux-system
 * namespace and its Secrets, one GitRepository for the site repository, one Kustomization per
 * stage, the Receiver the git server calls, and the node port the git server reaches it on.
 * Pure: settings in, objects out (Flux API v1: source.toolkit.fluxcd.io, kustomize.toolkit.fluxcd.io,
 * notification.toolkit.fluxcd.io).
 */
export const FLUX_NAMESPACE = "flux-system";
export const GIT_CREDENTIALS_SECRET = "airstrap-git";
export const SOPS_AGE_SECRET = "sops-age";
export const RECEIVER_NAME = "airstrap-git";
export const RECEIVER_SECRET = "airstrap-webhook";
export const RECEIVER_NODE_PORT_SERVICE = "airstrap-webhook-receiver";
/** The user name in the credentials Secret: the git server checks only the token (the password). */
export const GIT_READ_USER = "flux";

export interface StageSpec {
  name: string;
  path: string;
  dependsOn: string[];
}

export interface SiteSource {
  /** The GitRepository's name: the cluster's name. */
  name: string;
  url: string;
  branch: string;
}

const base64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

export function namespaceObject(): KubeObject {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name: FLUX_NAMESPACE } };
}

function opaqueSecret(name: string, data: Record<string, string>): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace: FLUX_NAMESPACE, labels: { "app.kubernetes.io/managed-by": "airstrap" } },
    type: "Opaque",
    data: Object.fromEntries(Object.entries(data).map(([key, value]) => [key, base64(value)])),
  };
}

/** What source-controller sends as basic auth to the git server (plain HTTP is allowed for basic auth). */
export function gitCredentialsSecret(readToken: string): KubeObject {
  return opaqueSecret(GIT_CREDENTIALS_SECRET, { username: GIT_READ_USER, password: readToken });
}

/** The age identities kustomize-controller decrypts with: a key ending in .agekey (Flux's convention). */
export function sopsAgeSecret(identities: readonly string[]): KubeObject {
  return opaqueSecret(SOPS_AGE_SECRET, { "age.agekey": `${identities.join("\n")}\n` });
}

export function receiverSecret(token: string): KubeObject {
  return opaqueSecret(RECEIVER_SECRET, { token });
}

export function gitRepository(source: SiteSource): KubeObject {
  return {
    apiVersion: "source.toolkit.fluxcd.io/v1",
    kind: "GitRepository",
    metadata: { name: source.name, namespace: FLUX_NAMESPACE },
    spec: {
      interval: "10m",
      url: source.url,
      ref: { branch: source.branch },
      secretRef: { name: GIT_CREDENTIALS_SECRET },
    },
  };
}

/** One stage: its folder, applied after what it depends on, pruned, health-checked, SOPS files decrypted. */
export function stageKustomization(stage: StageSpec, sourceName: string): KubeObject {
  return {
    apiVersion: "kustomize.toolkit.fluxcd.io/v1",
    kind: "Kustomization",
    metadata: { name: stage.name, namespace: FLUX_NAMESPACE },
    spec: {
      interval: "10m",
      retryInterval: "1m",
      timeout: "5m",
      path: `./${stage.path.replace(/^\.\/+/, "").replace(/\/+$/, "")}`,
      prune: true,
      wait: true,
      sourceRef: { kind: "GitRepository", name: sourceName },
      ...(stage.dependsOn.length > 0 ? { dependsOn: stage.dependsOn.map((name) => ({ name })) } : {}),
      decryption: { provider: "sops", secretRef: { name: SOPS_AGE_SECRET } },
    },
  };
}

/** The webhook the git server calls after a push: reconciles the site GitRepository at once. */
export function receiver(sourceName: string): KubeObject {
  return {
    apiVersion: "notification.toolkit.fluxcd.io/v1",
    kind: "Receiver",
    metadata: { name: RECEIVER_NAME, namespace: FLUX_NAMESPACE },
    spec: {
      type: "generic-hmac",
      secretRef: { name: RECEIVER_SECRET },
      resources: [{ apiVersion: "source.toolkit.fluxcd.io/v1", kind: "GitRepository", name: sourceName }],
    },
  };
}

/**
 * notification-controller's receiver port on every node: the git server runs outside the cluster
 * (on the bootstrap machine), where Flux's own webhook-receiver Service (ClusterIP) is not reachable.
 */
export function receiverNodePortService(nodePort: number): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: RECEIVER_NODE_PORT_SERVICE, namespace: FLUX_NAMESPACE },
    spec: {
      type: "NodePort",
      selector: { app: "notification-controller" },
      ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: "http-webhook", nodePort }],
    },
  };
}

/** notification-controller's path for a Receiver: /hook/ + hex SHA-256 of token + name + namespace. */
export function receiverWebhookPath(token: string, name = RECEIVER_NAME, namespace = FLUX_NAMESPACE): string {
  return `/hook/${createHash("sha256")
    .update(token + name + namespace)
    .digest("hex")}`;
}

/** Everything per stage and the source, in the order they are applied. */
export function siteObjects(source: SiteSource, stages: readonly StageSpec[]): KubeObject[] {
  return [gitRepository(source), ...stages.map((stage) => stageKustomization(stage, source.name))];
}
