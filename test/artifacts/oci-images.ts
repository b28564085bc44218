import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

const sha = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

export interface MultiArchLayout {
  dir: string;
  tag: string;
  indexDigest: string;
  manifests: Record<string, { digest: string; layer: string; config: string }>;
}

/** An OCI layout holding one tag that is a multi-arch index (linux/amd64 + linux/arm64), one tar layer each. */
export async function writeMultiArchLayout(dir: string, tag: string): Promise<MultiArchLayout> {
  const blobs = join(dir, "blobs", "sha256");
  await mkdir(blobs, { recursive: true });
  const put = async (bytes: Buffer) => {
    const digest = sha(bytes);
    await writeFile(join(blobs, digest.slice(7)), bytes);
    return { digest, size: bytes.length };
  };
  const manifests: MultiArchLayout["manifests"] = {};
  const entries = [];
  for (const arch of ["amd64", "arm64"]) {
    const work = join(dir, `.work-${arch}`);
    await mkdir(work, { recursive: true });
    await writeFile(join(work, `payload-${arch}.bin`), randomBytes(200_000));
    const layer = execFileSync("tar", [
      "--sort=name",
      "--mtime=@0",
      "--owner=0",
      "--group=0",
      "-C",
      work,
      "-cf",
      "-",
      ".",
    ]);
    execFileSync("rm", ["-rf", work]);
    const layerBlob = await put(layer);
    const config = await put(
      Buffer.from(
        JSON.stringify({ architecture: arch, os: "linux", rootfs: { type: "layers", diff_ids: [layerBlob.digest] } }),
      ),
    );
    const manifest = await put(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
          layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", ...layerBlob }],
        }),
      ),
    );
    manifests[arch] = { digest: manifest.digest, layer: layerBlob.digest, config: config.digest };
    entries.push({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      ...manifest,
      platform: { os: "linux", architecture: arch },
    });
  }
  const index = await put(
    Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: entries }),
    ),
  );
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await writeFile(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.index.v1+json",
          ...index,
          annotations: { "org.opencontainers.image.ref.name": tag },
        },
      ],
    }),
  );
  return { dir, tag, indexDigest: index.digest, manifests };
}
