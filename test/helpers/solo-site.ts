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

/**
 * A folder with the solo site's cluster.yaml and a store holding its release, its one host this
 * machine over a real sshd on loopback; a skip reason when sshd is not available. Returns the
 * release file names.
 */
export async function soloSiteOverSsh(t: {
  after(fn: () => unknown): void;
}): Promise<{ dir: string; releaseFiles: string[] } | { skip: string }> {
  const { sshdAvailable, startSshd } = await import("../peers/sshd.js");
  const { tempDir } = await import("./cli.js");
  const missing = sshdAvailable();
  if (missing) return { skip: missing };
  const sshd = await startSshd({ address: "127.0.0.1" });
  t.after(() => sshd.stop());
  const dir = await tempDir(t as { after(fn: () => Promise<void>): void });
  const { writeFile } = await import("node:fs/promises");
  const { join } = await import("node:path");
  await writeFile(join(dir, "cluster.yaml"), soloSiteManifest(sshd.port, sshd.clientKey));
  return { dir, releaseFiles: await storeWithRelease(join(dir, "store")) };
}
