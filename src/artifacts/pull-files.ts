import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { runPool } from "../concurrency/pool.js";
import { DEFAULT_RETRY, type RetryPolicy } from "../concurrency/retry.js";
import { OperatorError } from "../errors.js";
import type { Events } from "../events.js";
import { type BlobStore, DigestMismatchError } from "../store/blob-store.js";
import type { Digest } from "../store/digest.js";
import { adoptIntoStore } from "./adopt.js";
import {
  type ArtifactIndex,
  type ArtifactRecords,
  createIndexWriter,
  type FileRecord,
  findFile,
  readArtifactIndex,
} from "./artifact-index.js";
import { isRemote, type ReleaseCatalog, type ReleaseFile } from "./catalog.js";
import { downloadWithResume, removePartial } from "./http-download.js";
import { publishRelease } from "./release-artifact.js";
import { parseSumsFile } from "./sums.js";

export interface PullFilesOptions {
  store: BlobStore;
  catalog: ReleaseCatalog;
  events: Events;
  concurrency?: number;
  retry?: RetryPolicy;
  stallTimeoutMs?: number;
}

export type FileOutcome = "present" | "downloaded" | "copied";

export interface PulledFile {
  name: string;
  digest: Digest;
  size: number;
  outcome: FileOutcome;
  /** Bytes that came over the network or from the local folder in this run. */
  transferred: number;
}

/**
 * Brings every file of a release into the store: the sums file first (the root of trust for
 * the others), then the rest in parallel, each checked against its sum. What the store already
 * holds under the same name and digest, and still hashes right, is not fetched again.
 */
export async function pullReleaseFiles(options: PullFilesOptions): Promise<PulledFile[]> {
  const { store, catalog, events } = options;
  const recordFile = createIndexWriter(store.root);
  const index = await readArtifactIndex(store.root);

  const sumsPulled = await ensureFile(options, index, catalog.sumsFile, undefined, recordFile);
  const sumsText = await readFile(store.blobPath(sumsPulled.digest), "utf8");
  const sums = parseSumsFile(sumsText, catalog.sumsFile.name);

  const rest = catalog.files.filter((file) => file !== catalog.sumsFile);
  const failures: Error[] = [];
  const results = await runPool(rest, options.concurrency ?? 4, async (file) => {
    try {
      return await ensureFile(options, index, file, expectedDigest(file, sums, catalog, index), recordFile);
    } catch (error) {
      if (!(error instanceof OperatorError)) throw error;
      failures.push(error);
      events.emit({ level: "error", kind: "artifacts.file.fail", message: error.message, detail: { name: file.name } });
      return undefined;
    }
  });
  if (failures.length > 0) {
    const names = failures.map((f) => f.message).join("; ");
    throw new OperatorError(`${failures.length} release file${failures.length === 1 ? "" : "s"} failed: ${names}`, {
      hint: "run airstrap artifacts pull again; files that arrived intact are kept, cut transfers resume",
    });
  }
  const pulled = [sumsPulled, ...results.filter((r): r is PulledFile => r !== undefined)];
  const recorded = await readArtifactIndex(store.root);
  const records = catalog.files.map(
    (file) =>
      findFile(recorded, { distro: catalog.distro, version: catalog.version, arch: catalog.arch, name: file.name })!,
  );
  await recordFile({ releases: [await publishRelease(store, catalog, records)] });
  return pulled;
}

function expectedDigest(
  file: ReleaseFile,
  sums: Map<string, Digest>,
  catalog: ReleaseCatalog,
  index: ArtifactIndex,
): Digest | undefined {
  if (file.verification === "pinned") {
    return findFile(index, { distro: catalog.distro, version: catalog.version, arch: catalog.arch, name: file.name })
      ?.digest;
  }
  const digest = sums.get(file.name);
  if (digest === undefined) {
    throw new OperatorError(`${catalog.sumsFile.name} does not list ${file.name}`, {
      hint: `this ${catalog.distro} release may not publish ${file.name}; check the version, or the mirror's copy of the sums file`,
    });
  }
  return digest;
}

async function ensureFile(
  options: PullFilesOptions,
  index: ArtifactIndex,
  file: ReleaseFile,
  expected: Digest | undefined,
  recordFile: (add: ArtifactRecords) => Promise<void>,
): Promise<PulledFile> {
  const { store, catalog, events } = options;
  const key = { distro: catalog.distro, version: catalog.version, arch: catalog.arch, name: file.name };
  const known = findFile(index, key);
  if (known && (expected === undefined || known.digest === expected) && (await store.verify(known.digest))) {
    events.emit({
      level: "info",
      kind: "artifacts.file.skip",
      message: `${file.name}: present and verified`,
      detail: { name: file.name, size: known.size },
    });
    return { name: file.name, digest: known.digest, size: known.size, outcome: "present", transferred: 0 };
  }
  events.emit({
    level: "info",
    kind: "artifacts.file.start",
    message: `${file.name}: fetching from ${file.location}`,
    detail: { name: file.name, location: file.location },
  });
  const fetched = isRemote(file) ? await download(options, file, expected) : await copyLocal(options, file, expected);
  const record: FileRecord = {
    ...key,
    digest: fetched.digest,
    size: fetched.size,
    verification: file.verification,
    source: file.location,
  };
  await recordFile({ files: [record] });
  events.emit({
    level: "info",
    kind: "artifacts.file.done",
    message: `${file.name}: ${fetched.outcome}, ${fetched.size} bytes, ${file.verification === "sums" ? `matches ${catalog.sumsFile.name}` : `pinned at ${fetched.digest}`}`,
    detail: { name: file.name, size: fetched.size, digest: fetched.digest, transferred: fetched.transferred },
  });
  return { name: file.name, ...fetched };
}

async function download(
  options: PullFilesOptions,
  file: ReleaseFile,
  expected: Digest | undefined,
): Promise<Omit<PulledFile, "name">> {
  const { store, events } = options;
  const keyHex = createHash("sha256")
    .update(expected ?? file.location)
    .digest("hex")
    .slice(0, 24);
  const partialPath = `${store.root}/tmp/pull-${keyHex}.partial`;
  const result = await downloadWithResume(file.location, {
    partialPath,
    label: file.name,
    retry: options.retry ?? DEFAULT_RETRY,
    ...(options.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: options.stallTimeoutMs }),
    onProgress: (bytes, total) =>
      events.emit({
        level: "debug",
        kind: "artifacts.file.progress",
        message: `${file.name}: ${bytes}${total === undefined ? "" : `/${total}`}`,
        detail: { name: file.name, bytes, total },
      }),
    onRetry: (error, attempt, delayMs) =>
      events.emit({
        level: "warn",
        kind: "artifacts.file.retry",
        message: `${error.message}; retry ${attempt} in ${delayMs} ms`,
        detail: { name: file.name, attempt, delayMs },
      }),
  });
  if (expected !== undefined && result.digest !== expected) {
    await removePartial(partialPath);
    throw mismatch(options.catalog, file, expected, result.digest);
  }
  await adoptIntoStore(store, partialPath, result.digest);
  return { digest: result.digest, size: result.size, outcome: "downloaded", transferred: result.transferred };
}

async function copyLocal(
  options: PullFilesOptions,
  file: ReleaseFile,
  expected: Digest | undefined,
): Promise<Omit<PulledFile, "name">> {
  let source: ReturnType<typeof createReadStream>;
  try {
    source = createReadStream(file.location, { highWaterMark: 1 << 20 });
    await new Promise<void>((resolve, reject) => source.once("open", () => resolve()).once("error", reject));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new OperatorError(`${file.name}: cannot read ${file.location}${code ? ` (${code})` : ""}`, {
      hint: "put the release files in the folder named by artifacts.source, with their upstream names",
    });
  }
  const total = (await stat(file.location)).size;
  const emit = (bytes: number) =>
    options.events.emit({
      level: "debug",
      kind: "artifacts.file.progress",
      message: `${file.name}: ${bytes}/${total}`,
      detail: { name: file.name, bytes, total },
    });
  async function* counted(chunks: AsyncIterable<Buffer>) {
    let bytes = 0;
    for await (const chunk of chunks) {
      bytes += chunk.length;
      emit(bytes);
      yield chunk;
    }
  }
  try {
    const stored = await options.store.write(counted(source), expected);
    return { digest: stored.digest, size: stored.size, outcome: "copied", transferred: stored.size };
  } catch (error) {
    if (error instanceof DigestMismatchError) throw mismatch(options.catalog, file, error.expected, error.actual);
    throw error;
  }
}

function mismatch(catalog: ReleaseCatalog, file: ReleaseFile, expected: Digest, actual: Digest): OperatorError {
  const against = file.verification === "sums" ? catalog.sumsFile.name : "the digest pinned on the first pull";
  return new OperatorError(
    `${file.name}: content does not match ${against} (expected ${expected}, got ${actual}); rejected, nothing stored`,
    { hint: `the copy at ${file.location} is corrupt or was replaced; fix the source and pull again` },
  );
}
