import { parseImageReference } from "../artifacts/image-reference.js";
import { type ManifestObject, podContainers } from "../artifacts/manifest-images.js";

/** What the store knows of a carried image: its repository there and the digest it was pinned to. */
export interface CarriedImage {
  repository: string;
  digest: string;
}

/**
 * Flux's components with every container image pointed at the site registry:
 * `<registryHost>/<repository in the store>:<tag>@<pinned digest>`, so nodes pull the exact bytes
 * that were carried, from the registry that serves the store. An image the store does not know
 * keeps its tag only. Objects are copied, not changed. Pure.
 */
export function rewriteImages(
  objects: readonly ManifestObject[],
  registryHost: string,
  carried: (reference: string) => CarriedImage | undefined,
): ManifestObject[] {
  return objects.map((original) => {
    const object = structuredClone(original);
    for (const container of podContainers(object)) {
      if (typeof container.image !== "string") continue;
      container.image = siteImage(container.image, registryHost, carried(container.image));
    }
    return object;
  });
}

export function siteImage(reference: string, registryHost: string, carried: CarriedImage | undefined): string {
  const parsed = parseImageReference(reference);
  const repository = carried?.repository ?? parsed.storeRepository;
  const digest = carried?.digest ?? parsed.digest;
  return `${registryHost}/${repository}${parsed.tag === undefined ? "" : `:${parsed.tag}`}${digest === undefined ? "" : `@${digest}`}`;
}

/** CRDs and namespaces first (what the rest needs to exist), then the rest in the file's order. */
export function applyOrder(objects: readonly ManifestObject[]): ManifestObject[] {
  const rank = (object: ManifestObject) =>
    object.kind === "Namespace" ? 0 : object.kind === "CustomResourceDefinition" ? 1 : 2;
  return objects
    .map((object, index) => ({ object, index }))
    .sort((a, b) => rank(a.object) - rank(b.object) || a.index - b.index)
    .map(({ object }) => object);
}
