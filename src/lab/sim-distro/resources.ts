/** SIMULATION: the resource types the simulated API advertises in discovery (any other is still stored). */
export interface ResourceType {
  group: string;
  version: string;
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  /** Writes to the object leave `status` alone; only `<object>/status` changes it (CRDs that declare it). */
  statusSubresource?: boolean;
}

const VERBS = ["create", "delete", "get", "list", "patch", "update"];

export const RESOURCE_TYPES: ResourceType[] = [
  {
    group: "",
    version: "v1",
    resource: "nodes",
    singular: "node",
    kind: "Node",
    namespaced: false,
    shortNames: ["no"],
  },
  {
    group: "",
    version: "v1",
    resource: "namespaces",
    singular: "namespace",
    kind: "Namespace",
    namespaced: false,
    shortNames: ["ns"],
  },
  {
    group: "",
    version: "v1",
    resource: "configmaps",
    singular: "configmap",
    kind: "ConfigMap",
    namespaced: true,
    shortNames: ["cm"],
  },
  { group: "", version: "v1", resource: "secrets", singular: "secret", kind: "Secret", namespaced: true },
  {
    group: "",
    version: "v1",
    resource: "services",
    singular: "service",
    kind: "Service",
    namespaced: true,
    shortNames: ["svc"],
  },
  {
    group: "",
    version: "v1",
    resource: "serviceaccounts",
    singular: "serviceaccount",
    kind: "ServiceAccount",
    namespaced: true,
    shortNames: ["sa"],
  },
  { group: "", version: "v1", resource: "pods", singular: "pod", kind: "Pod", namespaced: true, shortNames: ["po"] },
  {
    group: "apps",
    version: "v1",
    resource: "daemonsets",
    singular: "daemonset",
    kind: "DaemonSet",
    namespaced: true,
    shortNames: ["ds"],
  },
  {
    group: "apps",
    version: "v1",
    resource: "deployments",
    singular: "deployment",
    kind: "Deployment",
    namespaced: true,
    shortNames: ["deploy"],
  },
  {
    group: "apps",
    version: "v1",
    resource: "statefulsets",
    singular: "statefulset",
    kind: "StatefulSet",
    namespaced: true,
    shortNames: ["sts"],
  },
  { group: "batch", version: "v1", resource: "jobs", singular: "job", kind: "Job", namespaced: true },
  {
    group: "",
    version: "v1",
    resource: "resourcequotas",
    singular: "resourcequota",
    kind: "ResourceQuota",
    namespaced: true,
    shortNames: ["quota"],
  },
  ...["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"].map((kind) => ({
    group: "rbac.authorization.k8s.io",
    version: "v1",
    resource: `${kind.toLowerCase()}s`,
    singular: kind.toLowerCase(),
    kind,
    namespaced: !kind.startsWith("Cluster"),
  })),
  {
    group: "networking.k8s.io",
    version: "v1",
    resource: "networkpolicies",
    singular: "networkpolicy",
    kind: "NetworkPolicy",
    namespaced: true,
    shortNames: ["netpol"],
  },
  {
    group: "apiextensions.k8s.io",
    version: "v1",
    resource: "customresourcedefinitions",
    singular: "customresourcedefinition",
    kind: "CustomResourceDefinition",
    namespaced: false,
    shortNames: ["crd", "crds"],
  },
];

/** Where the store keeps CustomResourceDefinitions (the API's key layout, cluster-scoped). */
export const CRD_PREFIX = "/apiextensions.k8s.io/v1/customresourcedefinitions/";

interface CrdObject {
  spec?: {
    group?: string;
    scope?: string;
    names?: { kind?: string; plural?: string; singular?: string; shortNames?: string[] };
    versions?: Array<{ name?: string; served?: boolean; subresources?: { status?: unknown } }>;
  };
}

/**
 * The types the stored CRDs define, one per served version: applying a CRD makes its resources
 * known to discovery and routing, as the real API server does (no schema validation here).
 */
export function typesFromCrds(crds: readonly unknown[]): ResourceType[] {
  const types: ResourceType[] = [];
  for (const crd of crds as CrdObject[]) {
    const { group, names, scope, versions } = crd.spec ?? {};
    if (!group || !names?.kind || !names.plural) continue;
    for (const version of versions ?? []) {
      if (!version.name || version.served === false) continue;
      types.push({
        group,
        version: version.name,
        resource: names.plural,
        singular: names.singular ?? names.kind.toLowerCase(),
        kind: names.kind,
        namespaced: scope !== "Cluster",
        ...(names.shortNames ? { shortNames: names.shortNames } : {}),
        ...(version.subresources?.status !== undefined ? { statusSubresource: true } : {}),
      });
    }
  }
  return types;
}

export function findResourceType(
  types: readonly ResourceType[],
  group: string,
  version: string,
  resource: string,
): ResourceType | undefined {
  return types.find((type) => type.group === group && type.version === version && type.resource === resource);
}

export function groupVersion(group: string, version: string): string {
  return group === "" ? version : `${group}/${version}`;
}

export function apiVersions(serverAddress: string) {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

export function apiGroupList(types: readonly ResourceType[]) {
  const versions = new Map<string, string[]>();
  for (const type of types) {
    if (type.group === "") continue;
    const known = versions.get(type.group) ?? [];
    if (!known.includes(type.version)) known.push(type.version);
    versions.set(type.group, known);
  }
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: [...versions].map(([name, list]) => {
      const entries = list.map((version) => ({ groupVersion: `${name}/${version}`, version }));
      return { name, versions: entries, preferredVersion: entries[0]! };
    }),
  };
}

export function apiResourceList(all: readonly ResourceType[], group: string, version: string) {
  const types = all.filter((type) => type.group === group && type.version === version);
  if (types.length === 0) return undefined;
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: groupVersion(group, version),
    resources: types.flatMap((type) => [
      {
        name: type.resource,
        singularName: type.singular,
        namespaced: type.namespaced,
        kind: type.kind,
        verbs: VERBS,
        ...(type.shortNames ? { shortNames: type.shortNames } : {}),
      },
      ...(type.statusSubresource
        ? [
            {
              name: `${type.resource}/status`,
              singularName: "",
              namespaced: type.namespaced,
              kind: type.kind,
              verbs: ["get", "patch", "update"],
            },
          ]
        : []),
    ]),
  };
}
