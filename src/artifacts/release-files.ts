import { OperatorError } from "../errors.js";
import type { BlobStore } from "../store/blob-store.js";
import type { Digest } from "../store/digest.js";
import { findFile, readArtifactIndex } from "./artifact-index.js";
import type { ReleaseCatalog } from "./catalog.js";

export interface StoredReleaseFile {
  /** Upstream name, as install.sh expects it in INSTALL_*_ARTIFACT_PATH. */
  name: string;
  /** The blob holding it; hand it to a host upload with `digest` as the expected SHA-256. */
  path: string;
  digest: Digest;
  size: number;
}

/** Where each file of a release is in the store, for the install phase that ships them to hosts. */
export async function releaseFilesInStore(store: BlobStore, catalog: ReleaseCatalog): Promise<StoredReleaseFile[]> {
  const index = await readArtifactIndex(store.root);
  const missing: string[] = [];
  const found: StoredReleaseFile[] = [];
  for (const file of catalog.files) {
    const record = findFile(index, {
      distro: catalog.distro,
      version: catalog.version,
      arch: catalog.arch,
      name: file.name,
    });
    if (record && (await store.has(record.digest))) {
      found.push({ name: file.name, path: store.blobPath(record.digest), digest: record.digest, size: record.size });
    } else {
      missing.push(file.name);
    }
  }
  if (missing.length > 0) {
    throw new OperatorError(
      `the store lacks ${catalog.distro} ${catalog.version} ${catalog.arch}: ${missing.join(", ")}`,
      {
        hint: "run airstrap artifacts pull -f cluster.yaml (or load a bundle that carries them)",
      },
    );
  }
  return found;
}
