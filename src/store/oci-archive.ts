import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { posix } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { extract, type Header, pack } from "tar-stream";
import { OperatorError } from "../errors.js";
import type { ArchiveContents } from "./archive-contents.js";
import { fsyncPath } from "./blob-store.js";
import { blobRelativePath, digestFromBlobPath } from "./digest.js";
import { buildDockerImports, type DockerManifestEntry, dockerArchiveEntries } from "./oci-docker-archive.js";
import { type ImageName, imageGraph } from "./oci-image-graph.js";
import { exportIndex, type ImportedImage, importIndex, parseIndex } from "./oci-layout.js";
import type { Repositories } from "./repositories.js";

/**
 * Tarballs in and out of the store: oci-archive (a tar of an OCI image layout; digests kept) and
 * docker-archive (`docker save`: manifest.json + config + layer tars; a new manifest is made,
 * layers and config keep their digests). Import streams every entry straight into the store —
 * blobs named by digest are verified as they arrive — so a 10 GB archive never sits in memory.
 * Export writes a temp file, fsyncs it and renames it, so a half-written archive never appears.
 */
export type ArchiveFormat = "oci-archive" | "docker-archive";

const SMALL = 1024 * 1024;

type TarEntry = AsyncIterable<unknown> & { header: Header; resume(): void };

function normalise(name: string): string {
  return posix
    .normalize(name)
    .replace(/^(\.\/)+/, "")
    .replace(/^\/+/, "");
}

async function readArchive(repos: Repositories, file: string): Promise<ArchiveContents> {
  const contents: ArchiveContents = { small: new Map(), stored: new Map(), links: new Map() };
  const reader = extract();
  let failure: Error | undefined;
  const done = pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), reader).catch((error: Error) => {
    failure ??= new OperatorError(`${file}: not a readable tar archive (${error.message})`);
  });
  try {
    for await (const entry of reader) await readEntry(repos, contents, entry);
  } catch (error) {
    reader.destroy();
    await done;
    throw error instanceof OperatorError ? error : (failure ?? error);
  }
  await done;
  if (failure) throw failure;
  return contents;
}

async function readEntry(repos: Repositories, contents: ArchiveContents, entry: TarEntry): Promise<void> {
  const name = normalise(entry.header.name);
  if (entry.header.type === "symlink" || entry.header.type === "link") {
    const target = entry.header.linkname ?? "";
    contents.links.set(
      name,
      entry.header.type === "symlink" ? normalise(posix.join(posix.dirname(name), target)) : normalise(target),
    );
    entry.resume();
    return;
  }
  if (entry.header.type !== "file") {
    entry.resume();
    return;
  }
  const digest = digestFromBlobPath(name);
  if (digest) {
    if (await repos.blobs.has(digest)) entry.resume();
    else await repos.blobs.write(chunksOf(entry), digest);
    return;
  }
  if ((entry.header.size ?? 0) <= SMALL) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    contents.small.set(name, Buffer.concat(chunks));
    return;
  }
  contents.stored.set(name, await repos.blobs.write(chunksOf(entry)));
}

/** tar-stream entries are streamx streams; hand the store a plain async iterable of bytes. */
async function* chunksOf(entry: AsyncIterable<unknown>): AsyncIterable<Uint8Array> {
  for await (const chunk of entry) yield chunk as Uint8Array;
}

/** Imports an oci-archive or docker-archive (told apart by what is inside). */
export async function importArchive(
  repos: Repositories,
  file: string,
  options: { repository?: string } = {},
): Promise<{ format: ArchiveFormat; images: ImportedImage[] }> {
  const contents = await readArchive(repos, file);
  const index = contents.small.get("index.json");
  if (index) {
    const images = await importIndex(
      repos,
      parseIndex(index, file),
      async (descriptor) => {
        if (!(await repos.blobs.has(descriptor.digest))) {
          throw new OperatorError(`${file}: blob ${descriptor.digest} is missing from the archive`);
        }
      },
      { ...options, where: file },
    );
    return { format: "oci-archive", images };
  }
  if (contents.small.has("manifest.json")) {
    return { format: "docker-archive", images: await buildDockerImports(repos, contents, file, options) };
  }
  throw new OperatorError(`${file}: neither an oci-archive (index.json) nor a docker-archive (manifest.json)`, {
    hint: "make archives with: skopeo copy ... oci-archive:FILE or docker save",
  });
}

type Entry = { name: string; size: number; body: () => Readable };

async function writeTar(file: string, entries: AsyncIterable<Entry> | Entry[]): Promise<void> {
  const temp = `${file}.partial-${process.pid}`;
  const packer = pack();
  const written = pipeline(packer, createWriteStream(temp, { highWaterMark: 1 << 20 }));
  try {
    for await (const entry of entries) {
      const sink = packer.entry({ name: entry.name, size: entry.size, mode: 0o644, mtime: new Date(0) });
      await pipeline(entry.body(), sink);
    }
    packer.finalize();
    await written;
    await fsyncPath(temp);
    await rename(temp, file);
  } catch (error) {
    packer.destroy();
    await written.catch(() => undefined);
    throw error;
  } finally {
    await rm(temp, { force: true });
  }
}

const fromBuffer = (name: string, bytes: Buffer): Entry => ({
  name,
  size: bytes.length,
  body: () => Readable.from([bytes]),
});

/** Writes `images` as an oci-archive: the same layout exportOciLayout writes, in one tar. */
export async function exportOciArchive(repos: Repositories, images: ImageName[], file: string): Promise<void> {
  const index = await exportIndex(repos, images);
  const seen = new Set<string>();
  const blobs: Entry[] = [];
  for (const root of index.manifests) {
    for (const descriptor of await imageGraph(repos.blobs, root)) {
      if (seen.has(descriptor.digest)) continue;
      seen.add(descriptor.digest);
      blobs.push({
        name: blobRelativePath(descriptor.digest),
        size: descriptor.size,
        body: () => repos.blobs.read(descriptor.digest),
      });
    }
  }
  await writeTar(file, [
    fromBuffer("oci-layout", Buffer.from(JSON.stringify({ imageLayoutVersion: "1.0.0" }))),
    ...blobs,
    fromBuffer("index.json", Buffer.from(JSON.stringify(index))),
  ]);
}

/** Writes `images` as a docker-archive (`docker load` / `skopeo copy docker-archive:`). */
export async function exportDockerArchive(
  repos: Repositories,
  images: ImageName[],
  file: string,
  options: { platform?: string } = {},
): Promise<void> {
  const { manifest, blobs } = await dockerArchiveEntries(repos, images, options.platform ?? "linux/amd64");
  const entries: Entry[] = blobs.map((blob) => ({
    name: blob.name,
    size: blob.size,
    body: () => repos.blobs.read(blob.digest),
  }));
  entries.push(fromBuffer("manifest.json", Buffer.from(JSON.stringify(manifest satisfies DockerManifestEntry[]))));
  await writeTar(file, entries);
}
