import { stringify } from "yaml";

/**
 * A small stand-in for a Flux release's install.yaml (test data, not Flux's): the flux-system
 * Namespace, the three CRDs bootstrap uses (served v1, status subresource, as Flux's are), one
 * ServiceAccount, the four controllers' Deployments naming the given images, the webhook-receiver
 * Service and a NetworkPolicy, in the order `kustomize build manifests/install` puts kinds.
 */
export const FLUX_CONTROLLERS = [
  "source-controller",
  "kustomize-controller",
  "helm-controller",
  "notification-controller",
] as const;

export function syntheticFluxInstall(images: Record<(typeof FLUX_CONTROLLERS)[number], string>): string {
  const crd = (group: string, kind: string, plural: string) => ({
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase() },
      scope: "Namespaced",
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
          subresources: { status: {} },
        },
      ],
    },
  });
  const deployment = (name: (typeof FLUX_CONTROLLERS)[number]) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "flux-system", labels: { "app.kubernetes.io/component": name } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          serviceAccountName: "flux-controllers",
          containers: [{ name: "manager", image: images[name], args: ["--watch-all-namespaces=true"] }],
        },
      },
    },
  });
  const objects = [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "flux-system" } },
    crd("source.toolkit.fluxcd.io", "GitRepository", "gitrepositories"),
    crd("kustomize.toolkit.fluxcd.io", "Kustomization", "kustomizations"),
    crd("notification.toolkit.fluxcd.io", "Receiver", "receivers"),
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "flux-controllers", namespace: "flux-system" } },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "webhook-receiver", namespace: "flux-system" },
      spec: {
        type: "ClusterIP",
        selector: { app: "notification-controller" },
        ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: "http-webhook" }],
      },
    },
    ...FLUX_CONTROLLERS.map(deployment),
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "allow-webhooks", namespace: "flux-system" },
      spec: {
        policyTypes: ["Ingress"],
        ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ protocol: "TCP", port: 9292 }] }],
        podSelector: { matchLabels: { app: "notification-controller" } },
      },
    },
  ];
  return `---\n${objects.map((o) => stringify(o)).join("---\n")}`;
}
