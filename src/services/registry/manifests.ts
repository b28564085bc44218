import { type Digest, digestAlgorithm, digestOf, isDigest } from "../../store/digest.js";
import {
  type Descriptor,
  INDEX_MEDIA_TYPES,
  MANIFEST_MEDIA_TYPES,
  ManifestFormatError,
  type ManifestLinks,
  MediaTypes,
  parseManifestLinks,
} from "../../store/oci-manifest.js";
import { isTag } from "../../store/repositories.js";
import { invalidDigest, RegistryError } from "./errors.js";

/** What a manifest push must satisfy before anything is stored. Pure except for `blobExists`. */
export interface ManifestPush {
  digest: Digest;
  mediaType: string;
  links: ManifestLinks;
}

export async function checkManifestPush(options: {
  reference: string;
  bytes: Buffer;
  contentType: string | undefined;
  maxBytes: number;
  blobExists: (digest: Digest) => Promise<boolean>;
}): Promise<ManifestPush> {
  const { reference, bytes, maxBytes } = options;
  if (bytes.length > maxBytes) {
    throw new RegistryError("SIZE_INVALID", `manifest is larger than ${maxBytes} bytes`, { status: 413 });
  }
  if (!isDigest(reference) && !isTag(reference)) {
    if (reference.includes(":")) throw invalidDigest(reference);
    throw new RegistryError("MANIFEST_INVALID", `"${reference}" is neither a tag nor a digest`);
  }
  // Pushed by tag, a manifest is known by its canonical sha256 (as Distribution does); pushed by
  // digest, by that digest, so a sha512 push (with ?tag= for its tags) stays sha512 everywhere.
  const digest = digestOf(bytes, isDigest(reference) ? digestAlgorithm(reference) : "sha256");
  if (isDigest(reference) && reference !== digest) {
    throw new RegistryError("DIGEST_INVALID", "manifest content does not match the digest in the URL", {
      detail: { expected: reference, actual: digest },
    });
  }
  let links: ManifestLinks;
  try {
    links = parseManifestLinks(bytes);
  } catch (error) {
    if (error instanceof ManifestFormatError) throw new RegistryError("MANIFEST_INVALID", error.message);
    throw error;
  }
  const contentType = options.contentType?.split(";")[0]?.trim();
  const mediaType = contentType || links.mediaType;
  if (!mediaType) {
    throw new RegistryError("MANIFEST_INVALID", "manifest media type unknown: send Content-Type or set mediaType");
  }
  if (links.mediaType && contentType && links.mediaType !== contentType && MANIFEST_MEDIA_TYPES.includes(contentType)) {
    throw new RegistryError("MANIFEST_INVALID", `Content-Type ${contentType} but mediaType ${links.mediaType}`);
  }
  if (INDEX_MEDIA_TYPES.includes(mediaType) !== links.isIndex && MANIFEST_MEDIA_TYPES.includes(mediaType)) {
    throw new RegistryError("MANIFEST_INVALID", `body does not have the shape of ${mediaType}`);
  }
  const missing: Digest[] = [];
  for (const child of links.children) {
    if (child.urls && child.urls.length > 0) continue;
    if (!(await options.blobExists(child.digest))) missing.push(child.digest);
  }
  if (missing.length > 0) {
    throw new RegistryError("MANIFEST_BLOB_UNKNOWN", "manifest refers to content this registry does not hold", {
      detail: { missing },
    });
  }
  return { digest, mediaType, links };
}

/** The image index the referrers API answers with, optionally filtered by artifact type. */
export function referrersIndex(descriptors: Descriptor[], artifactType?: string): string {
  const manifests = artifactType ? descriptors.filter((d) => d.artifactType === artifactType) : descriptors;
  return JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests });
}
