import { DIGEST_ALGORITHMS, type Digest, digestAlgorithm, isDigest, isDigestAlgorithm } from "../../store/digest.js";
import { sendFileRange } from "./blob-read.js";
import { invalidDigest, RegistryError } from "./errors.js";
import { type Exchange, type RegistryContext, send } from "./http.js";
import { mirrorNames } from "./mirror.js";
import { parseChunkRange, parseReadRange, uploadRangeHeader } from "./range.js";
import type { UploadSession } from "./storage/uploads.js";

/** GET/HEAD/DELETE /v2/<name>/blobs/<digest> and the upload endpoints; thin over storage. */
export function blobDigest(value: string): Digest {
  if (isDigest(value)) return value;
  throw invalidDigest(value);
}

export async function getBlob(ctx: RegistryContext, { req, res, url }: Exchange, repo: string, digestText: string) {
  const digest = blobDigest(digestText);
  const size = req.method === "HEAD" ? await headBlob(ctx, repo, digest) : await linkedSize(ctx, repo, digest);
  if (size === undefined) {
    const ns = url.searchParams.get("ns");
    if (ctx.mirror && (await ctx.mirror.streamBlob(mirrorNames(repo, ns), digest, ns, req, res))) return;
    throw new RegistryError("BLOB_UNKNOWN", "blob unknown to registry", { detail: { digest } });
  }
  const common = {
    "Docker-Content-Digest": digest,
    "Accept-Ranges": "bytes",
    "Content-Type": "application/octet-stream",
  };
  const range = parseReadRange(req.headers.range, size);
  if (range.kind === "unsatisfiable") {
    send(res, 416, { ...common, "Content-Range": `bytes */${size}` });
    return;
  }
  const part = range.kind === "part" ? range : { start: 0, end: size - 1 };
  const length = size === 0 ? 0 : part.end - part.start + 1;
  const headers: Record<string, string | number> = { ...common, "Content-Length": length };
  if (range.kind === "part") headers["Content-Range"] = `bytes ${part.start}-${part.end}/${size}`;
  if (req.method === "HEAD" || length === 0) {
    res.writeHead(range.kind === "part" ? 206 : 200, headers);
    res.end();
    return;
  }
  // Opened before the headers go out: a blob collected meanwhile is still a clean 404.
  const file = await ctx.repos.blobs.openForRead(digest);
  if (!file) throw new RegistryError("BLOB_UNKNOWN", "blob unknown to registry", { detail: { digest } });
  try {
    res.writeHead(range.kind === "part" ? 206 : 200, headers);
    await sendFileRange(file, part, res, { slots: ctx.bodySlots, client: req.socket.remoteAddress ?? "" });
  } finally {
    await file.close();
  }
}

async function linkedSize(ctx: RegistryContext, repo: string, digest: Digest): Promise<number | undefined> {
  return (await ctx.repos.isBlobLinked(repo, digest)) ? ctx.repos.blobs.size(digest) : undefined;
}

/**
 * Clients HEAD a blob to decide to skip uploading it, then put a manifest naming it. Refreshing
 * its time puts it inside GC's grace period; doing so under the gate means a collection either
 * finished first (and the HEAD says 404, so the client uploads) or starts after (and sees it young).
 */
function headBlob(ctx: RegistryContext, repo: string, digest: Digest): Promise<number | undefined> {
  return ctx.gate.shared(async () => {
    const size = await linkedSize(ctx, repo, digest);
    if (size !== undefined) await ctx.repos.blobs.touch(digest);
    return size;
  });
}

export async function deleteBlob(ctx: RegistryContext, { res }: Exchange, repo: string, digestText: string) {
  const digest = blobDigest(digestText);
  if (!(await ctx.repos.unlinkBlob(repo, digest))) {
    throw new RegistryError("BLOB_UNKNOWN", "blob unknown to registry", { detail: { digest } });
  }
  send(res, 202, { "Docker-Content-Digest": digest });
}

function uploadHeaders(session: UploadSession): Record<string, string> {
  return {
    Location: `/v2/${session.repo}/blobs/uploads/${session.id}`,
    Range: uploadRangeHeader(session.offset),
    "Docker-Upload-UUID": session.id,
  };
}

function blobCreated(res: Exchange["res"], repo: string, digest: Digest) {
  send(res, 201, { Location: `/v2/${repo}/blobs/${digest}`, "Docker-Content-Digest": digest });
}

/** POST /v2/<name>/blobs/uploads/: a new session, a whole blob in one request, or a mount. */
export async function startUpload(ctx: RegistryContext, { req, res, url }: Exchange, repo: string) {
  const mount = url.searchParams.get("mount");
  const from = url.searchParams.get("from");
  if (mount !== null && isDigest(mount) && (from !== null || ctx.automaticCrossMount)) {
    const available = from ? await ctx.repos.isBlobLinked(from, mount).catch(() => false) : true;
    if (available && (await ctx.repos.blobs.has(mount))) {
      await ctx.gate.shared(() => ctx.repos.linkBlob(repo, mount));
      req.resume();
      blobCreated(res, repo, mount);
      return;
    }
  }
  const digest = url.searchParams.get("digest");
  if (digest !== null) {
    const expected = blobDigest(digest);
    const session = await ctx.uploads.create(repo, digestAlgorithm(expected));
    const stored = await ctx.gate.shared(() => ctx.uploads.complete(repo, session.id, expected, req));
    blobCreated(res, repo, stored.digest);
    return;
  }
  req.resume();
  // A client pushing sha512 in chunks says so up front, so the bytes are hashed only once.
  const algorithm = url.searchParams.get("digest-algorithm") ?? "sha256";
  if (!isDigestAlgorithm(algorithm)) {
    throw new RegistryError("DIGEST_INVALID", `digest algorithm "${algorithm}" is not supported`, {
      detail: { algorithm, supported: DIGEST_ALGORITHMS },
    });
  }
  const session = await ctx.uploads.create(repo, algorithm);
  send(res, 202, uploadHeaders(session));
}

/** PATCH <location>: a chunk (with Content-Range) or a stream (without). */
export async function patchUpload(ctx: RegistryContext, { req, res }: Exchange, repo: string, id: string) {
  const rangeHeader = req.headers["content-range"];
  let start: number | undefined;
  if (rangeHeader !== undefined) {
    const chunk = parseChunkRange(rangeHeader);
    const length = req.headers["content-length"];
    if (!chunk || (length !== undefined && Number(length) !== chunk.end - chunk.start + 1)) {
      req.resume();
      const session = await ctx.uploads.get(repo, id);
      throw new RegistryError("BLOB_UPLOAD_INVALID", `Content-Range "${rangeHeader}" does not fit the body`, {
        status: 416,
        ...(session ? { headers: { Range: uploadRangeHeader(session.offset) } } : {}),
      });
    }
    start = chunk.start;
  }
  const session = await ctx.uploads.append(repo, id, req, start);
  send(res, 202, uploadHeaders(session));
}

export async function uploadStatus(ctx: RegistryContext, { res }: Exchange, repo: string, id: string) {
  const session = await ctx.uploads.get(repo, id);
  if (!session) throw new RegistryError("BLOB_UPLOAD_UNKNOWN", "upload session not found", { detail: { id } });
  send(res, 204, uploadHeaders(session));
}

/** PUT <location>?digest=: the optional last chunk, then verification and publication. */
export async function finishUpload(ctx: RegistryContext, { req, res, url }: Exchange, repo: string, id: string) {
  const digest = url.searchParams.get("digest");
  if (digest === null) {
    req.resume();
    throw new RegistryError("DIGEST_INVALID", "the digest query parameter is required to finish an upload");
  }
  const rangeHeader = req.headers["content-range"];
  if (rangeHeader !== undefined) {
    const chunk = parseChunkRange(rangeHeader);
    const session = await ctx.uploads.get(repo, id);
    if (!chunk || (session && chunk.start !== session.offset)) {
      req.resume();
      throw new RegistryError("BLOB_UPLOAD_INVALID", `Content-Range "${rangeHeader}" out of order`, { status: 416 });
    }
  }
  const hasBody = Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined;
  if (!hasBody) req.resume();
  const stored = await ctx.gate.shared(() => ctx.uploads.complete(repo, id, digest, hasBody ? req : undefined));
  ctx.events.emit({
    level: "debug",
    kind: "registry.blob.pushed",
    service: "registry",
    message: `${repo}@${stored.digest} (${stored.size} bytes)`,
    detail: { repo, digest: stored.digest, size: stored.size },
  });
  blobCreated(res, repo, stored.digest);
}

export async function cancelUpload(ctx: RegistryContext, { req, res }: Exchange, repo: string, id: string) {
  req.resume();
  if (!(await ctx.uploads.cancel(repo, id))) {
    throw new RegistryError("BLOB_UPLOAD_UNKNOWN", "upload session not found", { detail: { id } });
  }
  send(res, 204);
}
