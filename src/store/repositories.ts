import { randomBytes } from "node:crypto";
import { mkdir, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { Readable } from "node:stream";
import { OperatorError } from "../errors.js";
import { type BlobStore, fsyncPath } from "./blob-store.js";
import { type Digest, digestFileName, digestFromFileName, isDigest } from "./digest.js";
import { exists, isDirectory, isMissing, readdirIfExists, readIfExists, readIfExistsBuffer } from "./oci-files.js";
import { type Descriptor, parseManifestLinks } from "./oci-manifest.js";

/**
 * Image repositories on top of the one blob store: what the registry serves and what the
 * artifact engineer fills when it pulls images. Manifests are ordinary blobs; a repository only
 * holds small link files that say which blobs and manifests belong to it, and which tag points
 * where. Everything lives beside the blob area, under the same root:
 *
 *   <root>/blobs/<algorithm>/<hex>                                 content (blob-store.ts)
 *   <root>/repositories/<name>/_manifests/<id>                     {"mediaType","size"}: manifest in repo
 *   <root>/repositories/<name>/_tags/<tag>                         "<digest>": the tag index
 *   <root>/repositories/<name>/_blobs/<id>                         empty: blob belongs to repo
 *   <root>/repositories/<name>/_referrers/<subject id>/<id>        descriptor JSON of a referrer
 *
 * where `<id>` names a digest: its hex for sha256, `sha512-<hex>` for sha512 (digestFileName).
 * `<name>` may hold slashes (library/nginx) and becomes nested directories; the `_`-prefixed
 * directories cannot clash with a name component, which must start with [a-z0-9].
 * Every link file is written to a temp file, fsynced and renamed into place, so a tag either
 * points at its old or its new manifest, never at half a digest, whatever is killed when.
 * `putManifest` stores the manifest bytes exactly as given (their digest is what clients pin)
 * and links every blob the manifest refers to, so a caller that wrote the blobs and put the
 * manifest has published a pullable image.
 */
export interface Repositories {
  readonly blobs: BlobStore;
  /**
   * Stores `bytes` as a manifest of `repo`; with a tag reference, also points the tag at it.
   * `tagTime` dates the tag (its file's mtime) instead of now: replication copies a peer's
   * tag with the peer's time, so every replica agrees on which write was last. With a tag,
   * `digest` names the digest the manifest is known by (a peer's sha512 one); by default it is
   * the canonical sha256 of the bytes. Either way the bytes must match it.
   */
  putManifest(
    repo: string,
    reference: string,
    bytes: Uint8Array,
    mediaType: string,
    options?: { tagTime?: Date; digest?: Digest },
  ): Promise<ManifestRecord>;
  /** A manifest of `repo` by tag or digest, when it exists there and its blob is present. */
  getManifest(repo: string, reference: string): Promise<ManifestRecord | undefined>;
  resolveTag(repo: string, tag: string): Promise<Digest | undefined>;
  /** When the tag was last pointed somewhere (see putManifest's tagTime). */
  tagTime(repo: string, tag: string): Promise<Date | undefined>;
  /** When the manifest was last linked in `repo` (garbage collection spares young links). */
  manifestLinkTime(repo: string, digest: Digest): Promise<Date | undefined>;
  /** Tags of `repo` in lexical (code point) order; undefined when the repository does not exist. */
  listTags(repo: string): Promise<string[] | undefined>;
  /** Every repository name, sorted. */
  listRepositories(): Promise<string[]>;
  /** Every manifest linked in `repo`. */
  listManifests(repo: string): Promise<ManifestRecord[]>;
  repositoryExists(repo: string): Promise<boolean>;
  linkBlob(repo: string, digest: Digest): Promise<void>;
  isBlobLinked(repo: string, digest: Digest): Promise<boolean>;
  unlinkBlob(repo: string, digest: Digest): Promise<boolean>;
  /** Removes a manifest from `repo`, with every tag pointing at it and its referrer entry. */
  deleteManifest(repo: string, digest: Digest): Promise<boolean>;
  deleteTag(repo: string, tag: string): Promise<boolean>;
  /** Descriptors of the manifests in `repo` whose `subject` is `subject`. */
  referrers(repo: string, subject: Digest): Promise<Descriptor[]>;
}

export interface ManifestRecord {
  digest: Digest;
  mediaType: string;
  size: number;
}

const NAME = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

export function isRepositoryName(name: string): boolean {
  return name.length <= 255 && NAME.test(name);
}

export function isTag(tag: string): boolean {
  return TAG.test(tag);
}

export function openRepositories(blobs: BlobStore): Repositories {
  const reposRoot = join(blobs.root, "repositories");
  const repoDir = (repo: string) => {
    if (!isRepositoryName(repo)) {
      throw new OperatorError(`repository name "${repo}" is not valid`, {
        hint: "lower-case letters, digits and separators (. _ __ -), path components joined by /",
      });
    }
    return join(reposRoot, repo);
  };
  const tagPath = (repo: string, tag: string) => {
    if (!isTag(tag))
      throw new OperatorError(`tag "${tag}" is not valid`, { hint: "[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}" });
    return join(repoDir(repo), "_tags", tag);
  };
  const manifestLink = (repo: string, digest: Digest) => join(repoDir(repo), "_manifests", digestFileName(digest));
  const blobLink = (repo: string, digest: Digest) => join(repoDir(repo), "_blobs", digestFileName(digest));
  const referrerDir = (repo: string, subject: Digest) => join(repoDir(repo), "_referrers", digestFileName(subject));

  async function modified(path: string): Promise<Date | undefined> {
    try {
      return (await stat(path)).mtime;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async function writeAtomic(path: string, content: string, time?: Date): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    // A leading dot can never start a tag, so a temp file left by a crash is never listed as one.
    const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
    try {
      await writeFile(temp, content, { mode: 0o644, flush: true });
      if (time) await utimes(temp, time, time);
      await rename(temp, path);
    } finally {
      await rm(temp, { force: true });
    }
    await fsyncPath(dirname(path));
  }

  async function readManifestLink(repo: string, digest: Digest): Promise<ManifestRecord | undefined> {
    const text = await readIfExists(manifestLink(repo, digest));
    if (text === undefined) return undefined;
    const link = JSON.parse(text) as { mediaType: string; size: number };
    if (!(await blobs.has(digest))) return undefined;
    return { digest, mediaType: link.mediaType, size: link.size };
  }

  async function resolveTag(repo: string, tag: string): Promise<Digest | undefined> {
    const text = await readIfExists(tagPath(repo, tag));
    if (text === undefined) return undefined;
    const digest = text.trim();
    return isDigest(digest) ? digest : undefined;
  }

  async function putManifest(
    repo: string,
    reference: string,
    bytes: Uint8Array,
    mediaType: string,
    options: { tagTime?: Date; digest?: Digest } = {},
  ): Promise<ManifestRecord> {
    const links = parseManifestLinks(bytes);
    const expected = isDigest(reference) ? reference : options.digest;
    const stored = await blobs.write(Readable.from([Buffer.from(bytes)]), expected);
    for (const child of links.children) await linkBlob(repo, child.digest);
    await linkBlob(repo, stored.digest);
    const record: ManifestRecord = { digest: stored.digest, mediaType, size: stored.size };
    await writeAtomic(manifestLink(repo, stored.digest), JSON.stringify({ mediaType, size: stored.size }));
    if (links.subject !== undefined) {
      const descriptor: Descriptor = {
        mediaType,
        digest: stored.digest,
        size: stored.size,
        ...(links.artifactType === undefined ? {} : { artifactType: links.artifactType }),
        ...(links.annotations === undefined ? {} : { annotations: links.annotations }),
      };
      await writeAtomic(
        join(referrerDir(repo, links.subject), digestFileName(stored.digest)),
        JSON.stringify(descriptor),
      );
    }
    if (!isDigest(reference)) await writeAtomic(tagPath(repo, reference), `${stored.digest}\n`, options.tagTime);
    return record;
  }

  async function linkBlob(repo: string, digest: Digest): Promise<void> {
    const path = blobLink(repo, digest);
    if (await exists(path)) return;
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, "", { mode: 0o644 });
  }

  async function listTags(repo: string): Promise<string[] | undefined> {
    if (!(await repositoryExists(repo))) return undefined;
    const names = await readdirIfExists(join(repoDir(repo), "_tags"));
    return names.filter(isTag).sort(compareCodePoints);
  }

  async function repositoryExists(repo: string): Promise<boolean> {
    return (await exists(join(repoDir(repo), "_manifests"))) || (await exists(join(repoDir(repo), "_blobs")));
  }

  async function listRepositories(): Promise<string[]> {
    const found: string[] = [];
    async function walk(dir: string, prefix: string): Promise<void> {
      const entries = await readdirIfExists(dir);
      if (prefix !== "" && (entries.includes("_manifests") || entries.includes("_blobs"))) found.push(prefix);
      for (const entry of entries) {
        if (entry.startsWith("_")) continue;
        if (!(await isDirectory(join(dir, entry)))) continue;
        await walk(join(dir, entry), prefix === "" ? entry : `${prefix}/${entry}`);
      }
    }
    await walk(reposRoot, "");
    return found.sort(compareCodePoints);
  }

  async function listManifests(repo: string): Promise<ManifestRecord[]> {
    const records: ManifestRecord[] = [];
    for (const name of await readdirIfExists(join(repoDir(repo), "_manifests"))) {
      const digest = digestFromFileName(name);
      const record = digest && (await readManifestLink(repo, digest));
      if (record) records.push(record);
    }
    return records;
  }

  async function deleteManifest(repo: string, digest: Digest): Promise<boolean> {
    const link = manifestLink(repo, digest);
    if (!(await exists(link))) return false;
    const tagsDir = join(repoDir(repo), "_tags");
    for (const tag of await readdirIfExists(tagsDir)) {
      if (isTag(tag) && (await resolveTag(repo, tag)) === digest) await rm(join(tagsDir, tag), { force: true });
    }
    const bytes = await readIfExistsBuffer(blobs.blobPath(digest));
    if (bytes !== undefined) {
      const { subject } = safeLinks(bytes);
      if (subject) await rm(join(referrerDir(repo, subject), digestFileName(digest)), { force: true });
    }
    await rm(link, { force: true });
    await fsyncPath(dirname(link));
    return true;
  }

  async function deleteTag(repo: string, tag: string): Promise<boolean> {
    const path = tagPath(repo, tag);
    if (!(await exists(path))) return false;
    await rm(path, { force: true });
    return true;
  }

  async function referrers(repo: string, subject: Digest): Promise<Descriptor[]> {
    const dir = referrerDir(repo, subject);
    const result: Descriptor[] = [];
    for (const name of (await readdirIfExists(dir)).sort()) {
      if (digestFromFileName(name) === undefined) continue;
      const text = await readIfExists(join(dir, name));
      if (text === undefined) continue;
      const descriptor = JSON.parse(text) as Descriptor;
      if (await exists(manifestLink(repo, descriptor.digest))) result.push(descriptor);
    }
    return result;
  }

  return {
    blobs,
    putManifest,
    getManifest: async (repo, reference) => {
      const digest = isDigest(reference) ? reference : await resolveTag(repo, reference);
      return digest === undefined ? undefined : readManifestLink(repo, digest);
    },
    resolveTag,
    tagTime: (repo, tag) => modified(tagPath(repo, tag)),
    manifestLinkTime: (repo, digest) => modified(manifestLink(repo, digest)),
    listTags,
    listRepositories,
    listManifests,
    repositoryExists,
    linkBlob,
    isBlobLinked: (repo, digest) => exists(blobLink(repo, digest)),
    unlinkBlob: async (repo, digest) => {
      const path = blobLink(repo, digest);
      if (!(await exists(path))) return false;
      await rm(path, { force: true });
      return true;
    },
    deleteManifest,
    deleteTag,
    referrers,
  };
}

function safeLinks(bytes: Uint8Array): { subject?: Digest } {
  try {
    return parseManifestLinks(bytes);
  } catch {
    return {};
  }
}

/** Tags and names sort by code point, as the distribution spec's "lexical order" means. */
export function compareCodePoints(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
