import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { runPool } from "../concurrency/pool.js";
import { DEFAULT_RETRY, type RetryPolicy } from "../concurrency/retry.js";
import { OperatorError } from "../errors.js";
import type { Events } from "../events.js";
import { type BlobStore, DigestMismatchError } from "../store/blob-store.js";
import type { Digest } from "../store/digest.js";
import { adoptIntoStore } from "./adopt.js";
import { type ArtifactIndex, type ArtifactRecords, type FileRecord, findFile } from "./artifact-index.js";
import { isRemote, type Verification } from "./catalog.js";
import { downloadWithResume, removePartial } from "./http-download.js";

/** Which release a file belongs to in the store's index: files are keyed by set + name. */
export interface FileSetKey {
  distro: string;
  version: string;
  arch: string;
}

export interface FetchableFile {
  /** The upstream file name, kept as is. */
  name: string;
  /** An http(s) URL, an absolute local path when the source is a folder, or "" when nothing says where. */
  location: string;
  verification: Verification;
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

export interface FetchContext {
  store: BlobStore;
  events: Events;
  set: FileSetKey;
  /** The index as read before this pull started. */
  index: ArtifactIndex;
  recordFile: (add: ArtifactRecords) => Promise<void>;
  retry?: RetryPolicy;
  stallTimeoutMs?: number;
  /** In messages: what a file's digest was checked against ("sha256sum-amd64.txt", "its signature"). */
  checkedAgainst(file: FetchableFile): string;
  /** The hint when a local source file cannot be read. */
  localSourceHint: string;
}

/**
 * Brings one file into the store unless the store already holds it under the same name and
 * digest (and it still hashes right). `expected` is the digest it must have, when known; a
 * pinned file must have the digest it was first recorded with.
 * `accept` runs on the stored blob before the file is recorded: a file it rejects is never named
 * in the index, so nothing uses it.
 */
export async function ensureFile(
  ctx: FetchContext,
  file: FetchableFile,
  expected: Digest | undefined,
  accept?: (blobPath: string) => Promise<void>,
): Promise<PulledFile> {
  const { store, events } = ctx;
  const key = { ...ctx.set, name: file.name };
  const known = findFile(ctx.index, key);
  // A pinned file must keep the bytes it had when first pulled.
  const must = expected ?? (file.verification === "pinned" ? known?.digest : undefined);
  if (known && (must === undefined || known.digest === must) && (await store.verify(known.digest))) {
    events.emit({
      level: "info",
      kind: "artifacts.file.skip",
      message: `${file.name}: present and verified`,
      detail: { name: file.name, size: known.size },
    });
    return { name: file.name, digest: known.digest, size: known.size, outcome: "present", transferred: 0 };
  }
  if (file.location === "") {
    throw new OperatorError(`${file.name}: not in the store, and nothing says where to fetch it from`, {
      hint: "put it in the store (airstrap lab builds its own), or name a folder or mirror holding it as the source",
    });
  }
  events.emit({
    level: "info",
    kind: "artifacts.file.start",
    message: `${file.name}: fetching from ${file.location}`,
    detail: { name: file.name, location: file.location },
  });
  const fetched = isRemote(file) ? await download(ctx, file, must) : await copyLocal(ctx, file, must);
  await accept?.(store.blobPath(fetched.digest));
  const record: FileRecord = {
    ...key,
    digest: fetched.digest,
    size: fetched.size,
    verification: file.verification,
    source: file.location,
  };
  await ctx.recordFile({ files: [record] });
  events.emit({
    level: "info",
    kind: "artifacts.file.done",
    message: `${file.name}: ${fetched.outcome}, ${fetched.size} bytes, ${file.verification === "pinned" ? `pinned at ${fetched.digest}` : `matches ${ctx.checkedAgainst(file)}`}`,
    detail: { name: file.name, size: fetched.size, digest: fetched.digest, transferred: fetched.transferred },
  });
  return { name: file.name, ...fetched };
}

async function download(
  ctx: FetchContext,
  file: FetchableFile,
  expected: Digest | undefined,
): Promise<Omit<PulledFile, "name">> {
  const { store, events } = ctx;
  const keyHex = createHash("sha256")
    .update(expected ?? file.location)
    .digest("hex")
    .slice(0, 24);
  const partialPath = `${store.root}/tmp/pull-${keyHex}.partial`;
  const result = await downloadWithResume(file.location, {
    partialPath,
    label: file.name,
    retry: ctx.retry ?? DEFAULT_RETRY,
    ...(ctx.stallTimeoutMs === undefined ? {} : { stallTimeoutMs: ctx.stallTimeoutMs }),
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
    throw mismatch(ctx, file, expected, result.digest);
  }
  await adoptIntoStore(store, partialPath, result.digest);
  return { digest: result.digest, size: result.size, outcome: "downloaded", transferred: result.transferred };
}

async function copyLocal(
  ctx: FetchContext,
  file: FetchableFile,
  expected: Digest | undefined,
): Promise<Omit<PulledFile, "name">> {
  let source: ReturnType<typeof createReadStream>;
  try {
    source = createReadStream(file.location, { highWaterMark: 1 << 20 });
    await new Promise<void>((resolve, reject) => source.once("open", () => resolve()).once("error", reject));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new OperatorError(`${file.name}: cannot read ${file.location}${code ? ` (${code})` : ""}`, {
      hint: ctx.localSourceHint,
    });
  }
  const total = (await stat(file.location)).size;
  const emit = (bytes: number) =>
    ctx.events.emit({
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
    const stored = await ctx.store.write(counted(source), expected);
    return { digest: stored.digest, size: stored.size, outcome: "copied", transferred: stored.size };
  } catch (error) {
    if (error instanceof DigestMismatchError) throw mismatch(ctx, file, error.expected, error.actual);
    throw error;
  }
}

function mismatch(ctx: FetchContext, file: FetchableFile, expected: Digest, actual: Digest): OperatorError {
  const against = file.verification === "pinned" ? "the digest pinned on the first pull" : ctx.checkedAgainst(file);
  return new OperatorError(
    `${file.name}: content does not match ${against} (expected ${expected}, got ${actual}); rejected, nothing stored`,
    { hint: `the copy at ${file.location} is corrupt or was replaced; fix the source and pull again` },
  );
}

/**
 * Runs `ensure` for every file through one pool; a file the operator can fix does not stop the
 * others, and the failures are reported together at the end (what arrived intact is kept).
 */
export async function ensureEach<F extends FetchableFile, R>(
  ctx: Pick<FetchContext, "events">,
  files: readonly F[],
  concurrency: number,
  what: string,
  ensure: (file: F) => Promise<R>,
): Promise<R[]> {
  const failures: Error[] = [];
  const results = await runPool(files, concurrency, async (file) => {
    try {
      return await ensure(file);
    } catch (error) {
      if (!(error instanceof OperatorError)) throw error;
      failures.push(error);
      ctx.events.emit({
        level: "error",
        kind: "artifacts.file.fail",
        message: error.message,
        detail: { name: file.name },
      });
      return undefined;
    }
  });
  if (failures.length > 0) {
    const names = failures.map((f) => f.message).join("; ");
    throw new OperatorError(`${failures.length} ${what}${failures.length === 1 ? "" : "s"} failed: ${names}`, {
      hint: "run airstrap artifacts pull again; files that arrived intact are kept, cut transfers resume",
    });
  }
  return results.filter((r): r is Awaited<R> => r !== undefined) as R[];
}
