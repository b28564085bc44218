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

/** A one-server K3s site on 127.0.0.1 reached over SSH on `port` with `identityFile`; its node ports are random. */
export function soloSiteManifest(port: number, identityFile: string): string {
  const base = 30000 + Math.floor(Math.random() * 20000);
  return `apiVersion: airstrap.io/v1alpha1
kind: Cluster
metadata: { name: solo }
spec:
  domain: solo.lan
  distro: { name: k3s, version: ${VERSION} }
  ssh: { user: root, port: ${port}, identityFile: ${JSON.stringify(identityFile)} }
  hosts:
    - { name: solo-01, address: 127.0.0.1, role: server }
  dns: { port: ${base} }
  loadBalancer: { apiPort: ${base + 1}, joinPort: ${base + 2} }
  registry: { port: ${base + 3} }
`;
}
