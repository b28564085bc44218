import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { Readable } from "node:stream";
import type { TestContext } from "node:test";
import {
  type FileRecord,
  type ImageRecord,
  mergeArtifactIndex,
  readArtifactIndex,
  writeArtifactIndex,
} from "../../../src/artifacts/artifact-index.js";
import { type BlobStore, openBlobStore } from "../../../src/store/blob-store.js";
import type { Digest } from "../../../src/store/digest.js";
import { openRepositories } from "../../../src/store/repositories.js";

export async function tempDir(t: TestContext, label: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `airstrap-${label}-`));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export async function putBlob(store: BlobStore, bytes: Buffer): Promise<{ digest: Digest; size: number }> {
  return store.write(Readable.from([bytes]));
}

/** A release-file record for `bytes`, stored. */
export async function addFile(store: BlobStore, name: string, bytes: Buffer): Promise<FileRecord> {
  const { digest, size } = await putBlob(store, bytes);
  return {
    distro: "k3s",
    version: "v1.31.4+k3s1",
    arch: "amd64",
    name,
    digest,
    size,
    verification: "sums",
    source: `test:${name}`,
  };
}

/** A one-layer OCI image, stored as the image puller stores one (blobs + manifest + tag). */
export async function addImage(store: BlobStore, repository: string, tag: string, layer: Buffer): Promise<ImageRecord> {
  const config = Buffer.from(
    JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }),
  );
  const configBlob = await putBlob(store, config);
  const layerBlob = await putBlob(store, layer);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...configBlob },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", ...layerBlob }],
    }),
  );
  const mediaType = "application/vnd.oci.image.manifest.v1+json";
  const record = await openRepositories(store).putManifest(repository, tag, manifest, mediaType);
  return {
    reference: `127.0.0.1:5000/${repository}:${tag}`,
    arch: "amd64",
    repository,
    tag,
    digest: record.digest,
    mediaType,
    manifests: [{ digest: record.digest, mediaType }],
    blobs: [configBlob.digest, layerBlob.digest],
  };
}

export async function recordContent(
  store: BlobStore,
  content: { files: FileRecord[]; images: ImageRecord[] },
): Promise<void> {
  await writeArtifactIndex(store.root, mergeArtifactIndex(await readArtifactIndex(store.root), content));
}

export async function newStore(t: TestContext, label: string): Promise<BlobStore> {
  return openBlobStore(join(await tempDir(t, label), "store"));
}

export const random = (size: number) => randomBytes(size);

/**
 * Every file under the store except its tmp area, with a hash of its content: two stores with the
 * same snapshot hold the same blobs, repositories, tags and artifact names.
 */
export async function snapshot(root: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  async function walk(dir: string): Promise<void> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return;
    }
    for (const name of names.sort()) {
      const path = join(dir, name);
      const rel = relative(root, path);
      if (rel === "tmp") continue;
      if ((await stat(path)).isDirectory()) await walk(path);
      else
        result[rel] = createHash("sha256")
          .update(await readFile(path))
          .digest("hex");
    }
  }
  await walk(root);
  return result;
}
