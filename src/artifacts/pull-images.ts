import { join } from "node:path";
import { runPool } from "../concurrency/pool.js";
import { DEFAULT_RETRY, type RetryPolicy } from "../concurrency/retry.js";
import { OperatorError } from "../errors.js";
import type { Events } from "../events.js";
import type { BlobStore } from "../store/blob-store.js";
import { type Digest, digestAlgorithm, digestFileName } from "../store/digest.js";
import { type Descriptor, INDEX_MEDIA_TYPES, parseManifestLinks } from "../store/oci-manifest.js";
import { openRepositories } from "../store/repositories.js";
import { adoptIntoStore } from "./adopt.js";
import {
  type ArtifactIndex,
  createIndexWriter,
  findImage,
  type ImageRecord,
  readArtifactIndex,
  storeTagFor,
} from "./artifact-index.js";
import { downloadWithResume, removePartial } from "./http-download.js";
import { type ImageReference, parseImageReference } from "./image-reference.js";
import { type FetchedManifest, RegistryClient } from "./oci-client.js";

export interface PullImagesOptions {
  store: BlobStore;
  images: readonly string[];
  arch: string;
  events: Events;
  retry?: RetryPolicy;
  concurrency?: number;
}

export interface PulledImage {
  reference: string;
  digest: Digest;
  outcome: "present" | "pulled";
  blobsFetched: number;
}

/**
 * Pulls images into the store as the registry serves them: blobs into the blob area, manifests
 * and tags through the repositories index. A multi-arch index is kept byte for byte (so its
 * digest, the one a pod spec may pin, still resolves) but only the manifest for `arch` and its
 * blobs are fetched. Once pulled, a reference stays pinned to that digest: later pulls of the
 * same tag do not move it.
 */
export async function pullImages(options: PullImagesOptions): Promise<PulledImage[]> {
  const index = await readArtifactIndex(options.store.root);
  const record = createIndexWriter(options.store.root);
  const client = new RegistryClient(options.retry ?? DEFAULT_RETRY, (error, attempt, delayMs) =>
    options.events.emit({
      level: "warn",
      kind: "artifacts.image.retry",
      message: `${error.message}; retry ${attempt} in ${delayMs} ms`,
    }),
  );
  // Images often share blobs; each is fetched once, whoever asks first, others wait for it.
  const inflight = new Map<Digest, Promise<void>>();
  const failures: Error[] = [];
  const results = await runPool(options.images, options.concurrency ?? 2, async (text) => {
    try {
      return await pullOne(options, client, index, record, text, inflight);
    } catch (error) {
      if (!(error instanceof OperatorError)) throw error;
      failures.push(error);
      options.events.emit({ level: "error", kind: "artifacts.image.fail", message: error.message });
      return undefined;
    }
  });
  if (failures.length > 0) {
    throw new OperatorError(
      `${failures.length} image${failures.length === 1 ? "" : "s"} failed: ${failures.map((f) => f.message).join("; ")}`,
      {
        hint: "run airstrap artifacts pull again; blobs that arrived intact are kept",
      },
    );
  }
  return results.filter((r): r is PulledImage => r !== undefined);
}

async function pullOne(
  options: PullImagesOptions,
  client: RegistryClient,
  index: ArtifactIndex,
  record: (add: { images: ImageRecord[] }) => Promise<void>,
  text: string,
  inflight: Map<Digest, Promise<void>>,
): Promise<PulledImage> {
  const { store, events, arch } = options;
  const known = findImage(index, text, arch);
  if (known && (await isComplete(store, known))) {
    events.emit({
      level: "info",
      kind: "artifacts.image.skip",
      message: `${text}: present, pinned at ${known.digest}`,
    });
    return { reference: text, digest: known.digest, outcome: "present", blobsFetched: 0 };
  }
  const image = parseImageReference(text);
  events.emit({ level: "info", kind: "artifacts.image.start", message: `${text}: resolving` });
  const top = await client.manifest(image, image.digest ?? image.tag!);
  const manifests: FetchedManifest[] = [];
  let imageManifest = top;
  if (isIndex(top)) {
    const chosen = choosePlatform(image, top, arch);
    imageManifest = await client.manifest(image, chosen.digest);
    manifests.push(imageManifest);
  }
  manifests.push(top);
  const links = parseManifestLinks(imageManifest.bytes);
  if (links.isIndex) throw new OperatorError(`${text}: nested indexes are not supported`);
  let fetched = 0;
  await runPool(links.children, 3, async (child) => {
    if (await store.has(child.digest)) return;
    const running = inflight.get(child.digest);
    if (running) return running;
    const fetching = fetchBlob(options, client, image, child);
    inflight.set(child.digest, fetching);
    await fetching;
    fetched++;
  });
  const repositories = openRepositories(store);
  for (const manifest of manifests) {
    const isTop = manifest === top;
    const tag = image.digest === undefined ? image.tag : undefined;
    const reference = isTop
      ? storeTagFor({ digest: top.digest, ...(tag === undefined ? {} : { tag }) })
      : manifest.digest;
    await repositories.putManifest(image.storeRepository, reference, manifest.bytes, manifest.mediaType, {
      digest: manifest.digest,
    });
  }
  const pinned: ImageRecord = {
    reference: text,
    arch,
    repository: image.storeRepository,
    ...(image.tag === undefined || image.digest !== undefined ? {} : { tag: image.tag }),
    digest: top.digest,
    mediaType: top.mediaType,
    manifests: manifests.map((m) => ({ digest: m.digest, mediaType: m.mediaType })),
    blobs: links.children.map((c) => c.digest),
  };
  await record({ images: [pinned] });
  events.emit({
    level: "info",
    kind: "artifacts.image.done",
    message: `${text}: pinned at ${top.digest}${manifests.length > 1 ? ` (linux/${arch}: ${imageManifest.digest})` : ""}, ${fetched} blobs fetched`,
  });
  return { reference: text, digest: top.digest, outcome: "pulled", blobsFetched: fetched };
}

function isIndex(manifest: FetchedManifest): boolean {
  return INDEX_MEDIA_TYPES.includes(manifest.mediaType) || parseManifestLinks(manifest.bytes).isIndex;
}

function choosePlatform(image: ImageReference, index: FetchedManifest, arch: string): Descriptor {
  const children = parseManifestLinks(index.bytes).children;
  const platformOf = (d: Descriptor) => (d.platform ?? {}) as { os?: string; architecture?: string; variant?: string };
  const matches = children.filter((d) => platformOf(d).os === "linux" && platformOf(d).architecture === arch);
  const chosen =
    matches.find((d) => arch !== "arm64" || [undefined, "v8"].includes(platformOf(d).variant)) ?? matches[0];
  if (!chosen) {
    const offered = children.map((d) => `${platformOf(d).os}/${platformOf(d).architecture}`).join(", ");
    throw new OperatorError(`${image.original}: no linux/${arch} image in its index (it has: ${offered || "none"})`, {
      hint: "pick an image published for the cluster's architecture",
    });
  }
  return chosen;
}

/** Fetches one blob into the store, resuming a cut transfer with a Range request like release files. */
async function fetchBlob(
  options: PullImagesOptions,
  client: RegistryClient,
  image: ImageReference,
  child: Descriptor,
): Promise<void> {
  const { store, events } = options;
  const name = `${image.path}@${child.digest.slice(7, 19)}`;
  const partialPath = join(store.root, "tmp", `pull-blob-${digestFileName(child.digest)}.partial`);
  const result = await downloadWithResume(
    `${image.apiHost}/${image.path} blob ${child.digest}`,
    {
      partialPath,
      label: `${image.original}: blob ${child.digest}`,
      algorithm: digestAlgorithm(child.digest),
      retry: options.retry ?? DEFAULT_RETRY,
      onProgress: (bytes, total) =>
        events.emit({
          level: "debug",
          kind: "artifacts.image.progress",
          message: `${name}: ${bytes}`,
          detail: { name, bytes, total: total ?? child.size },
        }),
      onRetry: (error, attempt, delayMs) =>
        events.emit({
          level: "warn",
          kind: "artifacts.image.retry",
          message: `${error.message}; retry ${attempt} in ${delayMs} ms`,
          detail: { name },
        }),
    },
    client.blobRequest(image, child.digest),
  );
  events.emit({ level: "debug", kind: "artifacts.image.blob.done", message: `${name}: done`, detail: { name } });
  if (result.digest !== child.digest) {
    await removePartial(partialPath);
    throw new OperatorError(`${image.original}: blob ${child.digest} arrived with digest ${result.digest}`, {
      hint: "the registry served corrupt content; nothing was stored for this blob",
    });
  }
  await adoptIntoStore(store, partialPath, result.digest);
}

async function isComplete(store: BlobStore, image: ImageRecord): Promise<boolean> {
  for (const digest of [...image.manifests.map((m) => m.digest), ...image.blobs]) {
    if (!(await store.has(digest))) return false;
  }
  return openRepositories(store)
    .getManifest(image.repository, image.tag ?? image.digest)
    .then((m) => m !== undefined);
}
