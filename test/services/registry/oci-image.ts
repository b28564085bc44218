import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Writes a real, runnable-shaped OCI image layout (tar layers, config with diff_ids, index). */
export interface GeneratedImage {
  dir: string;
  tag: string;
  manifestDigest: string;
  layerDigests: string[];
  totalBytes: number;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return `sha256:${hash.digest("hex")}`;
}

/**
 * Layers of `layerBytes` random bytes each (one file per layer, tarred with the system tar);
 * with `gzip`, each tar is compressed by the system gzip (as pushed images usually are, so clients
 * move the layers unchanged) and the config's diff_ids name the uncompressed tars.
 */
export async function writeOciLayout(
  dir: string,
  options: { tag?: string; layers?: number; layerBytes?: number; seed?: string; gzip?: boolean } = {},
): Promise<GeneratedImage> {
  const tag = options.tag ?? "v1";
  const layers = options.layers ?? 2;
  const layerBytes = options.layerBytes ?? 64 * 1024;
  const blobs = join(dir, "blobs", "sha256");
  await mkdir(blobs, { recursive: true });
  const work = join(dir, ".work");
  const descriptors: { mediaType: string; digest: string; size: number }[] = [];
  const diffIds: string[] = [];
  let totalBytes = 0;
  for (let i = 0; i < layers; i++) {
    const content = join(work, `layer${i}`);
    await mkdir(content, { recursive: true });
    const chunk = 16 * 1024 * 1024;
    const file = join(content, `data-${i}.bin`);
    await writeFile(file, Buffer.from(`${options.seed ?? "seed"} layer ${i}\n`));
    for (let written = 0; written < layerBytes; written += chunk) {
      await writeFile(file, randomBytes(Math.min(chunk, layerBytes - written)), { flag: "a" });
    }
    const tarPath = join(work, `layer${i}.tar`);
    execFileSync("tar", ["--sort=name", "--mtime=@0", "--owner=0", "--group=0", "-C", content, "-cf", tarPath, "."]);
    diffIds.push(await sha256File(tarPath));
    if (options.gzip) execFileSync("gzip", ["-1", "-n", tarPath]);
    const layerPath = options.gzip ? `${tarPath}.gz` : tarPath;
    const digest = await sha256File(layerPath);
    const size = (await stat(layerPath)).size;
    await rename(layerPath, join(blobs, digest.slice(7)));
    const mediaType = `application/vnd.oci.image.layer.v1.tar${options.gzip ? "+gzip" : ""}`;
    descriptors.push({ mediaType, digest, size });
    totalBytes += size;
  }
  await rm(work, { recursive: true, force: true });
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: { Cmd: ["/bin/true"] },
      rootfs: { type: "layers", diff_ids: diffIds },
      history: descriptors.map(() => ({ created_by: "airstrap test" })),
    }),
  );
  const configDigest = `sha256:${createHash("sha256").update(config).digest("hex")}`;
  await writeFile(join(blobs, configDigest.slice(7)), config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
      layers: descriptors,
    }),
  );
  const manifestDigest = `sha256:${createHash("sha256").update(manifest).digest("hex")}`;
  await writeFile(join(blobs, manifestDigest.slice(7)), manifest);
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await writeFile(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          digest: manifestDigest,
          size: manifest.length,
          annotations: { "org.opencontainers.image.ref.name": tag },
        },
      ],
    }),
  );
  return { dir, tag, manifestDigest, layerDigests: descriptors.map((d) => d.digest), totalBytes };
}

export async function readIndex(
  dir: string,
): Promise<{ manifests: { digest: string; annotations?: Record<string, string> }[] }> {
  return JSON.parse(await readFile(join(dir, "index.json"), "utf8"));
}
