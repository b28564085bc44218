import { isDigest } from "../../store/digest.js";
import { isRepositoryName, isTag, type ManifestRecord } from "../../store/repositories.js";
import { blobDigest } from "./blob-handlers.js";
import { invalidDigest, RegistryError } from "./errors.js";
import { type Exchange, pageOf, type RegistryContext, readBody, send, sendJson } from "./http.js";
import { checkManifestPush, referrersIndex } from "./manifests.js";
import { mirrorNames } from "./mirror.js";
import { TAG_TIME_HEADER } from "./replicate.js";

/** Manifests, tags, referrers and the catalog; thin over repositories.ts and manifests.ts. */
function checkReference(reference: string): void {
  if (isDigest(reference) || isTag(reference)) return;
  if (reference.includes(":")) throw invalidDigest(reference);
  throw new RegistryError("MANIFEST_INVALID", `"${reference}" is neither a tag nor a digest`);
}

/**
 * containerd asks a mirror for `library/nginx?ns=docker.io`. The store may hold the image as
 * `docker.io/library/nginx` (how the artifact side names what it pulled) or as `library/nginx`:
 * the namespaced name wins when it exists.
 */
export async function resolveRepository(ctx: RegistryContext, repo: string, ns: string | null): Promise<string> {
  if (ns) {
    const namespaced = `${ns}/${repo}`;
    if (isRepositoryName(namespaced) && (await ctx.repos.repositoryExists(namespaced))) return namespaced;
  }
  return repo;
}

export async function getManifest(ctx: RegistryContext, { req, res, url }: Exchange, repo: string, reference: string) {
  // Reading a name that cannot exist finds nothing: 404, as the conformance suite expects
  // (`.INVALID_MANIFEST_NAME`); only writing one is a malformed request.
  if (!reference.includes(":") && !isTag(reference)) {
    throw new RegistryError("MANIFEST_UNKNOWN", "manifest unknown to registry", { detail: { reference } });
  }
  checkReference(reference);
  const ns = url.searchParams.get("ns");
  let record: ManifestRecord | undefined;
  if (ctx.mirror && (!isDigest(reference) || !(await ctx.repos.getManifest(repo, reference)))) {
    record = await ctx.mirror.fetchManifest(mirrorNames(repo, ns), reference, ns);
  }
  record ??= await ctx.repos.getManifest(repo, reference);
  if (!record) throw new RegistryError("MANIFEST_UNKNOWN", "manifest unknown to registry", { detail: { reference } });
  const headers: Record<string, string> = {
    "Content-Type": record.mediaType,
    "Docker-Content-Digest": record.digest,
    ...(ns ? { "OCI-Namespace": ns } : {}),
  };
  // Peers replicating from us resolve tag conflicts by when each tag was written.
  const tagTime = isDigest(reference) ? undefined : await ctx.repos.tagTime(repo, reference);
  if (tagTime) headers[TAG_TIME_HEADER] = tagTime.toISOString();
  if (req.method === "HEAD") {
    send(res, 200, { ...headers, "Content-Length": record.size });
    return;
  }
  send(res, 200, headers, await ctx.repos.blobs.readSmall(record.digest));
}

export async function putManifest(ctx: RegistryContext, { req, res, url }: Exchange, repo: string, reference: string) {
  checkReference(reference);
  const bytes = await readBody(req, ctx.maxManifestBytes);
  const extraTags = isDigest(reference) ? url.searchParams.getAll("tag") : [];
  for (const tag of extraTags) checkReference(tag);
  const record = await ctx.gate.shared(async () => {
    const push = await checkManifestPush({
      reference,
      bytes,
      contentType: req.headers["content-type"],
      maxBytes: ctx.maxManifestBytes,
      blobExists: (digest) => ctx.repos.blobs.has(digest),
    });
    const known = { digest: push.digest };
    const stored = await ctx.repos.putManifest(repo, reference, bytes, push.mediaType, known);
    for (const tag of extraTags) await ctx.repos.putManifest(repo, tag, bytes, push.mediaType, known);
    return { ...stored, subject: push.links.subject };
  });
  ctx.events.emit({
    level: "info",
    kind: "registry.manifest.pushed",
    service: "registry",
    message: `${repo}:${reference} → ${record.digest}`,
    detail: { repo, reference, digest: record.digest },
  });
  const headers: Record<string, string> = {
    Location: `/v2/${repo}/manifests/${record.digest}`,
    "Docker-Content-Digest": record.digest,
  };
  if (record.subject) headers["OCI-Subject"] = record.subject;
  if (extraTags.length > 0) headers["OCI-Tag"] = extraTags.join(", ");
  send(res, 201, headers);
}

export async function deleteManifest(ctx: RegistryContext, { res }: Exchange, repo: string, reference: string) {
  checkReference(reference);
  const deleted = isDigest(reference)
    ? await ctx.repos.deleteManifest(repo, reference)
    : await ctx.repos.deleteTag(repo, reference);
  if (!deleted) throw new RegistryError("MANIFEST_UNKNOWN", "manifest unknown to registry", { detail: { reference } });
  send(res, 202);
}

export async function listTags(ctx: RegistryContext, { res, url }: Exchange, repo: string) {
  const tags = await ctx.repos.listTags(repo);
  if (tags === undefined) throw new RegistryError("NAME_UNKNOWN", "repository name not known to registry");
  const { page, next } = pageOf(tags, url);
  sendJson(res, 200, { name: repo, tags: page }, next ? { Link: next } : {});
}

export async function listReferrers(ctx: RegistryContext, { res, url }: Exchange, repo: string, digestText: string) {
  const digest = blobDigest(digestText);
  const artifactType = url.searchParams.get("artifactType") ?? undefined;
  const descriptors = await ctx.repos.referrers(repo, digest);
  const headers: Record<string, string> = { "Content-Type": "application/vnd.oci.image.index.v1+json" };
  if (artifactType) headers["OCI-Filters-Applied"] = "artifactType";
  send(res, 200, headers, referrersIndex(descriptors, artifactType));
}

export async function listCatalog(ctx: RegistryContext, { res, url }: Exchange) {
  const { page, next } = pageOf(await ctx.repos.listRepositories(), url);
  sendJson(res, 200, { repositories: page }, next ? { Link: next } : {});
}
