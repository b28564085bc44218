import type { Digest } from "../store/digest.js";
import { type Descriptor, MediaTypes } from "../store/oci-manifest.js";
import { IMAGE_EXECUTABLE, IMAGE_USER } from "./rootfs.js";

/** The image's config and manifest, as bytes with a fixed key order (their digests are the image's). */
export interface ImageLabels {
  version: string;
  /** The git commit the executable was built from, when known. */
  revision?: string;
  /** Where the source lives (the git remote), when known. */
  source?: string;
}

export function annotationsFor(labels: ImageLabels): Record<string, string> {
  return {
    "org.opencontainers.image.title": "airstrap",
    "org.opencontainers.image.version": labels.version,
    ...(labels.revision ? { "org.opencontainers.image.revision": labels.revision } : {}),
    ...(labels.source ? { "org.opencontainers.image.source": labels.source } : {}),
    // A fixed creation time: the build is reproducible, so "when" is the revision's business.
    "org.opencontainers.image.created": "1970-01-01T00:00:00Z",
  };
}

export function imageConfigBytes(options: { architecture: string; diffId: Digest; labels: ImageLabels }): Buffer {
  const config = {
    created: "1970-01-01T00:00:00Z",
    architecture: options.architecture,
    os: "linux",
    config: {
      User: `${IMAGE_USER.uid}:${IMAGE_USER.gid}`,
      Entrypoint: [IMAGE_EXECUTABLE],
      Cmd: ["--help"],
      Env: ["PATH=/usr/local/bin:/usr/bin", "HOME=/tmp"],
      WorkingDir: "/tmp",
      Labels: annotationsFor(options.labels),
    },
    rootfs: { type: "layers", diff_ids: [options.diffId] },
    history: [{ created: "1970-01-01T00:00:00Z", created_by: "airstrap image build" }],
  };
  return Buffer.from(JSON.stringify(config));
}

export function imageManifestBytes(config: Descriptor, layer: Descriptor, labels: ImageLabels): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: MediaTypes.ociConfig, digest: config.digest, size: config.size },
      layers: [{ mediaType: MediaTypes.ociLayerGzip, digest: layer.digest, size: layer.size }],
      annotations: annotationsFor(labels),
    }),
  );
}

/** The repository airstrap's image is named by: in the archive, the site registry and the DaemonSet. */
export const DEFAULT_IMAGE_REPOSITORY = "airstrap/airstrap";

/** The tag of an image of this version (a tag cannot hold "+"). */
export function imageTagFor(version: string): string {
  return version.replace(/\+/g, "_");
}

/** The docker-archive's file name: the same in dist/image/ and in a node's air-gap images folder. */
export function imageArchiveName(architecture: string): string {
  return `airstrap-image-linux-${architecture}.tar`;
}

/** Node's process.arch → the OCI platform architecture. */
export function ociArchitecture(arch: string): string {
  return arch === "x64" ? "amd64" : arch;
}
