import { execFile } from "node:child_process";
import { mkdir, mkdtemp, realpath, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { OperatorError } from "../errors.js";
import { openBlobStore } from "../store/blob-store.js";
import type { Digest } from "../store/digest.js";
import { exportDockerArchive } from "../store/oci-archive.js";
import { exportOciLayout } from "../store/oci-layout.js";
import { MediaTypes } from "../store/oci-manifest.js";
import { openRepositories } from "../store/repositories.js";
import {
  type ImageLabels,
  imageArchiveName,
  imageConfigBytes,
  imageManifestBytes,
  ociArchitecture,
} from "./image-config.js";
import { writeLayer } from "./layer.js";
import { parseLdd, rootfsEntries } from "./rootfs.js";

const run = promisify(execFile);

export interface ImageBuildOptions {
  executable: string;
  /** Folder that receives `oci/` (the layout) and the docker-archive tar. */
  out: string;
  /** Repository and tag the image is known by (in both outputs and in the site registry). */
  repository: string;
  tag: string;
  labels: ImageLabels;
  /** OCI architecture (amd64, arm64). */
  architecture: string;
}

export interface BuiltImage {
  digest: Digest;
  layoutDir: string;
  archive: string;
  /** Compressed size of the one layer: what a pull moves. */
  layerSize: number;
  uncompressedSize: number;
  archiveSize: number;
}

/** The shared libraries the executable needs, as this machine resolves them (none when static). */
export async function librariesOf(executable: string): Promise<{ path: string; source: string }[]> {
  const result = await run("ldd", [executable]).catch((error: { stdout?: string; stderr?: string }) => error);
  const text = `${result.stdout ?? ""}`;
  if (/not a dynamic executable/.test(`${text}${result.stderr ?? ""}`)) return [];
  const libraries = parseLdd(text);
  if (libraries.length === 0) {
    throw new OperatorError(`${executable}: ldd found no libraries and did not call it static`, {
      hint: "is ldd (libc-bin) installed, and is this an executable for this machine?",
    });
  }
  return libraries;
}

/**
 * git and its http-backend, which `airstrap git serve` drives, where the image expects them (git
 * runs upload-pack and receive-pack as its own builtins). Taken from this machine, so only for an
 * image of this machine's architecture; another architecture's image has no git server.
 */
export async function gitPrograms(architecture: string): Promise<{ path: string; source: string }[]> {
  if (architecture !== ociArchitecture(process.arch)) return [];
  const execPath = await run("git", ["--exec-path"]).then(
    ({ stdout }) => stdout.trim(),
    () => {
      throw new OperatorError("git is not installed on this machine; the image carries it for airstrap git serve", {
        hint: "install it (apt-get install git) and build again",
      });
    },
  );
  const git = join(execPath, "git");
  const backend = join(execPath, "git-http-backend");
  for (const file of [git, backend])
    if (!(await stat(file).catch(() => undefined))?.isFile())
      throw new OperatorError(`${file} is missing`, { hint: "reinstall git (apt-get install --reinstall git)" });
  return [
    { path: "/usr/bin/git", source: git },
    { path: "/usr/lib/git-core/git-http-backend", source: backend },
  ];
}

/** The openssl command to carry (what airstrap runs for the site CA and server certificates). */
async function opensslCommand(): Promise<string> {
  const { stdout } = await run("sh", ["-c", "command -v openssl"]).catch(() => ({ stdout: "" }));
  const path = stdout.trim();
  if (path === "") {
    throw new OperatorError("the image carries openssl, which is not installed here", {
      hint: "install it: apt-get install openssl",
    });
  }
  return realpath(path);
}

/** The version the executable reports; undefined when it cannot run here (another architecture). */
export async function executableVersion(executable: string): Promise<string | undefined> {
  try {
    const { stdout } = await run(executable, ["--version"], { timeout: 60_000 });
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function buildImage(options: ImageBuildOptions): Promise<BuiltImage> {
  const info = await stat(options.executable).catch(() => undefined);
  if (!info?.isFile()) {
    throw new OperatorError(`${options.executable}: no such executable`, { hint: "build it first with: make dist" });
  }
  await mkdir(options.out, { recursive: true });
  const work = await mkdtemp(join(options.out, ".build-"));
  try {
    const repos = openRepositories(await openBlobStore(join(work, "store")));
    const programs = await gitPrograms(options.architecture);
    const openssl = await opensslCommand();
    const libraries = new Map<string, { path: string; source: string }>();
    for (const file of [options.executable, openssl, ...programs.map((program) => program.source)])
      for (const library of await librariesOf(file)) libraries.set(library.path, library);
    const entries = rootfsEntries({
      executable: options.executable,
      programs,
      openssl,
      libraries: [...libraries.values()],
    });
    const { layer, diffId, uncompressedSize } = await writeLayer(repos.blobs, entries);
    const configBytes = imageConfigBytes({ architecture: options.architecture, diffId, labels: options.labels });
    const config = await repos.blobs.write(Readable.from([configBytes]));
    const manifestBytes = imageManifestBytes(
      { mediaType: MediaTypes.ociConfig, ...config },
      { mediaType: MediaTypes.ociLayerGzip, ...layer },
      options.labels,
    );
    const record = await repos.putManifest(options.repository, options.tag, manifestBytes, MediaTypes.ociManifest);
    const image = [{ repo: options.repository, reference: options.tag }];

    const layoutDir = join(options.out, "oci");
    const newLayout = join(work, "oci");
    await exportOciLayout(repos, image, newLayout);
    await rm(layoutDir, { recursive: true, force: true });
    await rename(newLayout, layoutDir);
    const archive = join(options.out, imageArchiveName(options.architecture));
    await exportDockerArchive(repos, image, archive, { platform: `linux/${options.architecture}` });
    return {
      digest: record.digest,
      layoutDir,
      archive,
      layerSize: layer.size,
      uncompressedSize,
      archiveSize: (await stat(archive)).size,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
