import { Readable } from "node:stream";
import type { BlobStore } from "../store/blob-store.js";
import { MediaTypes } from "../store/oci-manifest.js";
import { openRepositories } from "../store/repositories.js";
import type { FileRecord, ReleaseRecord } from "./artifact-index.js";

export const RELEASE_ARTIFACT_TYPE = "application/vnd.airstrap.release.v1";
const TITLE = "org.opencontainers.image.title";

export function releaseRepository(distro: string): string {
  return `airstrap/releases/${distro}`;
}

/** Tags cannot hold "+": v1.31.4+rke2r1 on amd64 is tagged v1.31.4_rke2r1-amd64. */
export function releaseTag(version: string, arch: string): string {
  return `${version.replace(/\+/g, "_")}-${arch}`;
}

/** The artifact manifest for a release: one layer per file, titled with its upstream name. Pure. */
export function releaseManifest(files: readonly FileRecord[], config: { digest: string; size: number }): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      artifactType: RELEASE_ARTIFACT_TYPE,
      config: { mediaType: MediaTypes.ociEmpty, digest: config.digest, size: config.size },
      layers: files.map((f) => ({
        mediaType: "application/octet-stream",
        digest: f.digest,
        size: f.size,
        annotations: { [TITLE]: f.name },
      })),
    }),
  );
}

/**
 * Publishes a pulled release as an OCI artifact in the store's repositories, tagged by version
 * and arch. Idempotent: the same files give the same manifest and digest.
 */
export async function publishRelease(
  store: BlobStore,
  catalog: { distro: string; version: string; arch: string; files: readonly { name: string }[] },
  files: readonly FileRecord[],
): Promise<ReleaseRecord> {
  const config = await store.write(Readable.from([Buffer.from("{}")]));
  const ordered = catalog.files.map((c) => files.find((f) => f.name === c.name)!);
  const repository = releaseRepository(catalog.distro);
  const tag = releaseTag(catalog.version, catalog.arch);
  const record = await openRepositories(store).putManifest(
    repository,
    tag,
    releaseManifest(ordered, config),
    MediaTypes.ociManifest,
  );
  return {
    distro: catalog.distro,
    version: catalog.version,
    arch: catalog.arch,
    repository,
    tag,
    digest: record.digest,
    config: config.digest,
  };
}
