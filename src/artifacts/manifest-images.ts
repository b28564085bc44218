import { parseAllDocuments } from "yaml";
import { OperatorError } from "../errors.js";

/** A Kubernetes object as read from a manifest file: only what airstrap looks at is typed. */
export type ManifestObject = Record<string, unknown> & {
  apiVersion?: string;
  kind?: string;
  metadata?: Record<string, unknown> & { name?: string; namespace?: string };
};

/** Every object of a multi-document YAML file, empty documents left out. Pure. */
export function parseManifestObjects(text: string, where: string): ManifestObject[] {
  const objects: ManifestObject[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) {
      throw new OperatorError(`${where}: ${document.errors[0]!.message.split("\n")[0]}`, {
        hint: "the file is not the release's manifest; pull it again",
      });
    }
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== "object" || Array.isArray(value)) {
      throw new OperatorError(`${where}: a document is not a Kubernetes object`);
    }
    objects.push(value as ManifestObject);
  }
  return objects;
}

interface Container {
  image?: unknown;
}

/** The containers of an object's pod template (Deployment, DaemonSet, StatefulSet, Job) or of a Pod. */
export function podContainers(object: ManifestObject): Container[] {
  const spec = object.spec as { template?: { spec?: unknown }; containers?: unknown } | undefined;
  const podSpec = (object.kind === "Pod" ? spec : spec?.template?.spec) as
    | { containers?: Container[]; initContainers?: Container[] }
    | undefined;
  return [...(podSpec?.initContainers ?? []), ...(podSpec?.containers ?? [])];
}

/** The images the objects run, each once, in the order first named. Pure. */
export function imagesOf(objects: readonly ManifestObject[]): string[] {
  const images = new Set<string>();
  for (const object of objects)
    for (const container of podContainers(object)) if (typeof container.image === "string") images.add(container.image);
  return [...images];
}
