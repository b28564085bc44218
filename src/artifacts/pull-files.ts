import { readFile } from "node:fs/promises";
import type { RetryPolicy } from "../concurrency/retry.js";
import { OperatorError } from "../errors.js";
import type { Events } from "../events.js";
import type { BlobStore } from "../store/blob-store.js";
import type { Digest } from "../store/digest.js";
import { createIndexWriter, findFile, readArtifactIndex } from "./artifact-index.js";
import type { ReleaseFile } from "./catalog.js";
import { ensureEach, ensureFile, type FetchContext, type PulledFile } from "./fetch-file.js";
import { publishRelease } from "./release-artifact.js";
import { parseSumsFile } from "./sums.js";

export type { FileOutcome, PulledFile } from "./fetch-file.js";

/** A set of files checked against one sums file of the same set: a distro release, a Flux release. */
export interface SummedCatalog {
  distro: string;
  version: string;
  arch: string;
  sumsFile: ReleaseFile;
  /** Every file, the sums file first. */
  files: readonly ReleaseFile[];
}

export interface PullFilesOptions {
  store: BlobStore;
  catalog: SummedCatalog;
  events: Events;
  concurrency?: number;
  retry?: RetryPolicy;
  stallTimeoutMs?: number;
}

/**
 * Brings every file of a release into the store: the sums file first (the root of trust for
 * the others), then the rest in parallel, each checked against its sum. What the store already
 * holds under the same name and digest, and still hashes right, is not fetched again.
 */
export async function pullReleaseFiles(options: PullFilesOptions): Promise<PulledFile[]> {
  const { store, catalog, events } = options;
  const index = await readArtifactIndex(store.root);
  const ctx: FetchContext = {
    store,
    events,
    set: { distro: catalog.distro, version: catalog.version, arch: catalog.arch },
    index,
    recordFile: createIndexWriter(store.root),
    ...(options.retry === undefined ? {} : { retry: options.retry }),
    ...(options.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: options.stallTimeoutMs }),
    checkedAgainst: () => catalog.sumsFile.name,
    localSourceHint: "put the release files in the folder named by artifacts.source, with their upstream names",
  };

  const sumsPulled = await ensureFile(ctx, catalog.sumsFile, undefined);
  const sumsText = await readFile(store.blobPath(sumsPulled.digest), "utf8");
  const sums = parseSumsFile(sumsText, catalog.sumsFile.name);

  const rest = catalog.files.filter((file) => file !== catalog.sumsFile);
  const results = await ensureEach(ctx, rest, options.concurrency ?? 4, "release file", (file) =>
    ensureFile(ctx, file, expectedDigest(file, sums, catalog)),
  );
  const recorded = await readArtifactIndex(store.root);
  const records = catalog.files.map(
    (file) =>
      findFile(recorded, { distro: catalog.distro, version: catalog.version, arch: catalog.arch, name: file.name })!,
  );
  await ctx.recordFile({ releases: [await publishRelease(store, catalog, records)] });
  return [sumsPulled, ...results];
}

/** The digest the release's sums file gives a file; pinned files are held to their first digest by ensureFile. */
function expectedDigest(file: ReleaseFile, sums: Map<string, Digest>, catalog: SummedCatalog): Digest | undefined {
  if (file.verification === "pinned") return undefined;
  const digest = sums.get(file.name);
  if (digest === undefined) {
    throw new OperatorError(`${catalog.sumsFile.name} does not list ${file.name}`, {
      hint: `this ${catalog.distro} release may not publish ${file.name}; check the version, or the mirror's copy of the sums file`,
    });
  }
  return digest;
}
