import { OperatorError } from "../errors.js";
import { type Digest, isDigest } from "./digest.js";

/** Media types of image manifests and indexes, OCI and Docker schema 2. */
export const MediaTypes = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociEmpty: "application/vnd.oci.empty.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
} as const;

export const INDEX_MEDIA_TYPES: readonly string[] = [MediaTypes.ociIndex, MediaTypes.dockerManifestList];
export const IMAGE_MEDIA_TYPES: readonly string[] = [MediaTypes.ociManifest, MediaTypes.dockerManifest];
export const MANIFEST_MEDIA_TYPES: readonly string[] = [...IMAGE_MEDIA_TYPES, ...INDEX_MEDIA_TYPES];

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: Record<string, unknown>;
  urls?: string[];
}

/** What a manifest points at, as far as storage needs to know. */
export interface ManifestLinks {
  /** Media type declared inside the manifest, if any. */
  mediaType?: string;
  /** Config and layers of an image manifest; child manifests of an index. */
  children: Descriptor[];
  /** True when `children` are manifests (an index), false when they are blobs. */
  isIndex: boolean;
  subject?: Digest;
  /** `artifactType`, falling back to the config's media type, as the referrers API reports it. */
  artifactType?: string;
  annotations?: Record<string, string>;
}

export class ManifestFormatError extends OperatorError {
  constructor(message: string) {
    super(`manifest: ${message}`, { hint: "push an OCI or Docker schema 2 image manifest or index" });
    this.name = "ManifestFormatError";
  }
}

/** Parses a manifest or index just enough to know its links; throws ManifestFormatError. */
export function parseManifestLinks(bytes: Uint8Array): ManifestLinks {
  let document: unknown;
  try {
    document = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    throw new ManifestFormatError("not valid JSON");
  }
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    throw new ManifestFormatError("not a JSON object");
  }
  const manifest = document as Record<string, unknown>;
  const mediaType = optionalString(manifest, "mediaType");
  const isIndex = Array.isArray(manifest.manifests) && !("layers" in manifest);
  const children: Descriptor[] = [];
  if (isIndex) {
    (manifest.manifests as unknown[]).forEach((entry, i) => {
      children.push(descriptorAt(entry, `manifests[${i}]`));
    });
  } else {
    if (manifest.schemaVersion === 1) throw new ManifestFormatError("Docker schema 1 is not supported");
    if (!("config" in manifest)) throw new ManifestFormatError("neither an image manifest (config) nor an index");
    children.push(descriptorAt(manifest.config, "config"));
    const layers = manifest.layers ?? [];
    if (!Array.isArray(layers)) throw new ManifestFormatError("layers is not a list");
    layers.forEach((entry, i) => {
      children.push(descriptorAt(entry, `layers[${i}]`));
    });
  }
  const subject = manifest.subject === undefined ? undefined : descriptorAt(manifest.subject, "subject").digest;
  const configType = isIndex ? undefined : children[0]?.mediaType;
  const artifactType = optionalString(manifest, "artifactType") ?? configType;
  const annotations = manifest.annotations as Record<string, string> | undefined;
  return {
    children,
    isIndex,
    ...(mediaType === undefined ? {} : { mediaType }),
    ...(subject === undefined ? {} : { subject }),
    ...(artifactType === undefined ? {} : { artifactType }),
    ...(annotations === undefined ? {} : { annotations }),
  };
}

function descriptorAt(value: unknown, where: string): Descriptor {
  if (typeof value !== "object" || value === null) throw new ManifestFormatError(`${where} is not a descriptor`);
  const entry = value as Record<string, unknown>;
  const digest = entry.digest;
  if (typeof digest !== "string" || !isDigest(digest)) {
    throw new ManifestFormatError(`${where}.digest is not a sha256 or sha512 digest`);
  }
  if (typeof entry.size !== "number" || !Number.isSafeInteger(entry.size) || entry.size < 0) {
    throw new ManifestFormatError(`${where}.size is not a non-negative integer`);
  }
  if (typeof entry.mediaType !== "string") throw new ManifestFormatError(`${where}.mediaType is missing`);
  return entry as unknown as Descriptor;
}

function optionalString(record: Record<string, unknown>, key: string): string | undefined {
  const value = record[key];
  return typeof value === "string" ? value : undefined;
}
