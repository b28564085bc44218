import { stringify } from "yaml";
import type { GeneratedFile } from "../pxe/pxe-files.js";
import type { KubeObject } from "./objects.js";

/** Where `airstrap generate` writes the in-cluster objects: a Kustomize folder, one file per object. */
export const IN_CLUSTER_DIR = "in-cluster";

export function fileNameOf(object: KubeObject): string {
  return `${object.kind.toLowerCase()}-${object.metadata.name}.yaml`;
}

export function renderKustomizeFolder(objects: readonly KubeObject[], dir = IN_CLUSTER_DIR): GeneratedFile[] {
  const files = objects.map((object) => ({
    path: `${dir}/${fileNameOf(object)}`,
    content: stringify(object, { lineWidth: 0 }),
    mode: 0o644,
  }));
  const kustomization = {
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    resources: objects.map(fileNameOf),
  };
  return [...files, { path: `${dir}/kustomization.yaml`, content: stringify(kustomization), mode: 0o644 }];
}

/** All objects in one multi-document YAML: what the distro's auto-deploy folder applies as is. */
export function renderManifestBundle(objects: readonly KubeObject[]): string {
  return objects.map((object) => stringify(object, { lineWidth: 0 })).join("---\n");
}
