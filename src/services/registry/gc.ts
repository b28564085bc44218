import { readArtifactIndex, requiredDigests } from "../../artifacts/artifact-index.js";
import { OperatorError } from "../../errors.js";
import type { Events } from "../../events.js";
import type { Digest } from "../../store/digest.js";
import { isManifestMediaType, readManifestBytes } from "../../store/oci-image-graph.js";
import { MediaTypes, parseManifestLinks } from "../../store/oci-manifest.js";
import type { Repositories } from "../../store/repositories.js";
import type { Gate } from "./gate.js";
import type { UploadSessions } from "./storage/uploads.js";

/**
 * Mark and sweep. Roots: every tag, every manifest linked within the grace period (a client may
 * push by digest and tag a moment later), every blob the artifact index names (what `airstrap
 * artifacts` pulled and `bundle load` loaded, tagged or not), and the referrers of whatever is
 * marked. Everything a marked manifest names is marked. Swept: unmarked blobs older than the grace period, manifests
 * links no root reaches, and upload sessions idle longer than `uploadMaxAgeMs`.
 *
 * Safe while pushes run: mark and sweep hold the gate exclusively, and pushes publish (finish
 * an upload, put a manifest) only while holding it shared, so no manifest can land between
 * marking and sweeping. Other processes writing into the same store (the artifact side) are
 * covered by the grace period: a blob written within it is never swept. A HEAD on a blob (what
 * clients send before skipping an upload) refreshes its time for the same reason.
 */
export interface GcOptions {
  graceMs: number;
  uploadMaxAgeMs: number;
  dryRun?: boolean;
  events: Events;
  now?: () => number;
}

export interface GcReport {
  marked: number;
  blobsRemoved: number;
  bytesFreed: number;
  manifestsUnlinked: number;
  uploadsRemoved: number;
}

export const DEFAULT_GC_GRACE_MS = 60 * 60 * 1000;
export const DEFAULT_UPLOAD_MAX_AGE_MS = 24 * 60 * 60 * 1000;

export async function collectGarbage(
  repos: Repositories,
  uploads: UploadSessions,
  gate: Gate,
  options: GcOptions,
): Promise<GcReport> {
  const now = options.now?.() ?? Date.now();
  const report: GcReport = { marked: 0, blobsRemoved: 0, bytesFreed: 0, manifestsUnlinked: 0, uploadsRemoved: 0 };

  await gate.exclusive(async () => {
    const marked = new Set<Digest>();
    async function mark(digest: Digest, mediaType: string): Promise<void> {
      if (marked.has(digest)) return;
      marked.add(digest);
      if (!isManifestMediaType(mediaType) || !(await repos.blobs.has(digest))) return;
      let links: ReturnType<typeof parseManifestLinks>;
      try {
        links = parseManifestLinks(await readManifestBytes(repos.blobs, digest));
      } catch {
        return;
      }
      for (const child of links.children) await mark(child.digest, child.mediaType);
    }

    await markArtifactIndex(repos.blobs.root, mark);
    const repositories = await repos.listRepositories();
    const unreached: { repo: string; digest: Digest }[] = [];
    for (const repo of repositories) {
      for (const tag of (await repos.listTags(repo)) ?? []) {
        const record = await repos.getManifest(repo, tag);
        if (record) await mark(record.digest, record.mediaType);
      }
      for (const record of await repos.listManifests(repo)) {
        const linked = await linkTime(repos, repo, record.digest);
        if (linked !== undefined && now - linked < options.graceMs) await mark(record.digest, record.mediaType);
      }
    }
    // Referrers of marked manifests are kept with them, until no new ones appear.
    for (let grew = true; grew; ) {
      grew = false;
      for (const repo of repositories) {
        for (const record of await repos.listManifests(repo)) {
          if (!marked.has(record.digest)) continue;
          for (const referrer of await repos.referrers(repo, record.digest)) {
            if (marked.has(referrer.digest)) continue;
            await mark(referrer.digest, referrer.mediaType);
            grew = true;
          }
        }
      }
    }
    for (const repo of repositories) {
      for (const record of await repos.listManifests(repo)) {
        if (!marked.has(record.digest)) unreached.push({ repo, digest: record.digest });
      }
    }
    report.marked = marked.size;

    for (const { repo, digest } of unreached) {
      if (!options.dryRun) await repos.deleteManifest(repo, digest);
      report.manifestsUnlinked += 1;
    }
    for await (const blob of repos.blobs.walk()) {
      if (marked.has(blob.digest) || now - blob.modifiedMs < options.graceMs) continue;
      if (!options.dryRun) await repos.blobs.remove(blob.digest);
      report.blobsRemoved += 1;
      report.bytesFreed += blob.size;
    }
  });

  for (const session of await uploads.list()) {
    if (now - session.modified.getTime() < options.uploadMaxAgeMs) continue;
    if (!options.dryRun) await uploads.discard(session.id);
    report.uploadsRemoved += 1;
  }

  options.events.emit({
    level: "info",
    kind: "registry.gc.done",
    service: "registry",
    message: `garbage collection${options.dryRun ? " (dry run)" : ""}: ${report.blobsRemoved} blob(s), ${report.bytesFreed} bytes, ${report.manifestsUnlinked} manifest link(s), ${report.uploadsRemoved} stale upload(s)`,
    detail: { ...report },
  });
  return report;
}

/**
 * The artifact side's own record of the store is a root: a release file is a plain blob that no
 * tag may reach, and an image's tag can be deleted through the registry while install still
 * needs it. An index that cannot be read stops the collection before anything is swept.
 */
async function markArtifactIndex(
  storeRoot: string,
  mark: (digest: Digest, mediaType: string) => Promise<void>,
): Promise<void> {
  let index: Awaited<ReturnType<typeof readArtifactIndex>>;
  try {
    index = await readArtifactIndex(storeRoot);
  } catch (error) {
    if (!(error instanceof OperatorError)) throw error;
    throw new OperatorError(`garbage collection stopped, nothing removed: ${error.message}`, {
      ...(error.hint ? { hint: error.hint } : {}),
    });
  }
  for (const image of index.images) {
    for (const manifest of image.manifests) await mark(manifest.digest, manifest.mediaType);
  }
  for (const release of index.releases ?? []) await mark(release.digest, MediaTypes.ociManifest);
  for (const digest of requiredDigests(index)) await mark(digest, "");
}

async function linkTime(repos: Repositories, repo: string, digest: Digest): Promise<number | undefined> {
  return (await repos.manifestLinkTime(repo, digest).catch(() => undefined))?.getTime();
}
