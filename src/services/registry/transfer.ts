import { mkdir, rename, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { OperatorError } from "../../errors.js";
import type { Events } from "../../events.js";
import { openBlobStore } from "../../store/blob-store.js";
import { exportDockerArchive, exportOciArchive, importArchive } from "../../store/oci-archive.js";
import { parseImageName } from "../../store/oci-image-graph.js";
import { exportOciLayout, type ImportedImage, importOciLayout } from "../../store/oci-layout.js";
import { openRepositories } from "../../store/repositories.js";
import { createGate } from "./gate.js";
import { collectGarbage, DEFAULT_UPLOAD_MAX_AGE_MS } from "./gc.js";
import { type HostsTomlOptions, hostsTomlTree } from "./hosts-toml.js";
import { openUploadSessions } from "./storage/uploads.js";

/** `airstrap registry import|export|list`: OCI layouts and archives in and out of a store. */
export type ExportFormat = "oci" | "oci-archive" | "docker-archive";

export async function importImages(
  root: string,
  paths: string[],
  options: { repository?: string } = {},
): Promise<{ path: string; format: string; images: ImportedImage[] }[]> {
  const repos = openRepositories(await openBlobStore(root));
  const results = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => {
      throw new OperatorError(`${path}: no such file or directory`);
    });
    if (info.isDirectory()) {
      results.push({ path, format: "oci", images: await importOciLayout(repos, path, options) });
    } else {
      const { format, images } = await importArchive(repos, path, options);
      results.push({ path, format, images });
    }
  }
  return results;
}

export async function exportImages(root: string, names: string[], format: ExportFormat, output: string) {
  if (names.length === 0)
    throw new OperatorError("name at least one image to export, e.g. docker.io/library/nginx:1.27");
  const repos = openRepositories(await openBlobStore(root));
  const images = names.map((name) => parseImageName(name));
  if (format === "oci") await exportOciLayout(repos, images, output);
  else if (format === "oci-archive") await exportOciArchive(repos, images, output);
  else await exportDockerArchive(repos, images, output);
  return images;
}

/** Every repository with its tags, for `airstrap registry list`. */
export async function listImages(root: string): Promise<{ repo: string; tags: string[] }[]> {
  const repos = openRepositories(await openBlobStore(root));
  const result = [];
  for (const repo of await repos.listRepositories()) result.push({ repo, tags: (await repos.listTags(repo)) ?? [] });
  return result;
}

/** `airstrap registry gc`: one collection over a store no registry process is publishing into. */
export async function collectStoreGarbage(root: string, options: { graceMs: number; dryRun: boolean; events: Events }) {
  const repos = openRepositories(await openBlobStore(root));
  return collectGarbage(repos, openUploadSessions(repos), createGate(), {
    graceMs: options.graceMs,
    uploadMaxAgeMs: DEFAULT_UPLOAD_MAX_AGE_MS,
    dryRun: options.dryRun,
    events: options.events,
  });
}

/** `airstrap registry hosts-dir`: writes `<dir>/<mirror>/hosts.toml` for containerd's config_path. */
export async function writeHostsDir(dir: string, mirrors: string[], options: HostsTomlOptions): Promise<string[]> {
  if (options.endpoints.length === 0) throw new OperatorError("name at least one registry with --endpoint URL");
  let files: { path: string; content: string }[];
  try {
    files = hostsTomlTree(mirrors, options);
  } catch (error) {
    throw new OperatorError((error as Error).message, { hint: "mirrors are registry names like docker.io or quay.io" });
  }
  const written = [];
  for (const file of files) {
    const path = join(dir, file.path);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(`${path}.tmp`, file.content, { mode: 0o644 });
    await rename(`${path}.tmp`, path);
    written.push(path);
  }
  return written;
}
