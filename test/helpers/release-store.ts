import { Readable } from "node:stream";
import { writeArtifactIndex } from "../../src/artifacts/artifact-index.js";
import { releaseCatalog } from "../../src/artifacts/catalog.js";
import { openBlobStore } from "../../src/store/blob-store.js";

export const VERSION = "v1.31.4+k3s1";

/** A store holding the K3s release files (small stand-ins: a dry run never sends them). */
export async function storeWithRelease(root: string) {
  const store = await openBlobStore(root);
  const files = [];
  for (const file of releaseCatalog({ distro: "k3s", version: VERSION, arch: "amd64" }).files) {
    const { digest, size } = await store.write(Readable.from([`stand-in for ${file.name}\n`]));
    files.push({
      distro: "k3s",
      version: VERSION,
      arch: "amd64",
      name: file.name,
      digest,
      size,
      verification: "sums" as const,
      source: file.location,
    });
  }
  await writeArtifactIndex(root, { files, images: [] });
  return files.map((f) => f.name);
}
