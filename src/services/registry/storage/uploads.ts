import { type Hash, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fsyncPath, type StoredBlob } from "../../../store/blob-store.js";
import {
  CANONICAL_ALGORITHM,
  createDigester,
  type DigestAlgorithm,
  digestAlgorithm,
  digestFromHash,
  isDigest,
  isDigestAlgorithm,
} from "../../../store/digest.js";
import type { Repositories } from "../../../store/repositories.js";
import { invalidDigest, RegistryError } from "../errors.js";
import { UploadSink } from "./upload-sink.js";

/**
 * Blob upload sessions on disk: `<root>/uploads/<id>/info.json` (which repository, and the digest
 * algorithm when the client announced one other than sha256) and `data` (the bytes received so
 * far). A session outlives the process: after a restart its offset is the size of `data`, so a
 * client asking for the upload's status resumes from there. The running hash (of the session's
 * algorithm) is kept in memory and rebuilt from `data` when it was lost, so the digest is verified
 * while the bytes stream in, never by buffering them. A final digest of another algorithm than the
 * session's (a sha512 push that did not say so up front) costs one re-read of `data`; the sha256
 * path hashes every byte once. Completion fsyncs `data` and renames it into the blob area, so a
 * blob is visible only whole and verified.
 */
export interface UploadSession {
  id: string;
  repo: string;
  offset: number;
  /** What the running hash is computed with; sha256 unless the client named another up front. */
  algorithm: DigestAlgorithm;
}

export interface UploadSessions {
  create(repo: string, algorithm?: DigestAlgorithm): Promise<UploadSession>;
  get(repo: string, id: string): Promise<UploadSession | undefined>;
  /** Appends `source`; with `start`, the chunk must begin exactly at the current offset. */
  append(repo: string, id: string, source: Readable, start?: number): Promise<UploadSession>;
  /** Appends an optional last chunk, checks the digest and publishes the blob in `repo`. */
  complete(repo: string, id: string, digest: string, last?: Readable): Promise<StoredBlob>;
  cancel(repo: string, id: string): Promise<boolean>;
  /** Removes a session whatever its repository (cleanup of abandoned ones). */
  discard(id: string): Promise<void>;
  /** Every session on disk with the time of its last write (for cleanup of abandoned ones). */
  list(): Promise<{ id: string; repo: string; modified: Date; offset: number }[]>;
  /** Bytes currently held in unfinished sessions. */
  activeCount(): number;
}

interface HashState {
  hash: Hash;
  offset: number;
  algorithm: DigestAlgorithm;
}

const ID = /^[a-f0-9-]{36}$/;

export function openUploadSessions(repos: Repositories): UploadSessions {
  const root = join(repos.blobs.root, "uploads");
  const hashes = new Map<string, HashState>();
  const locks = new Map<string, Promise<unknown>>();

  const sessionDir = (id: string) => join(root, id);
  const dataPath = (id: string) => join(sessionDir(id), "data");

  /** One request at a time per session; a second PATCH waits instead of interleaving bytes. */
  async function exclusive<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = locks.get(id) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    locks.set(id, settled);
    try {
      return await next;
    } finally {
      if (locks.get(id) === settled) locks.delete(id);
    }
  }

  async function get(repo: string, id: string): Promise<UploadSession | undefined> {
    if (!ID.test(id)) return undefined;
    let info: { repo: string; algorithm?: string };
    try {
      info = JSON.parse(await readFile(join(sessionDir(id), "info.json"), "utf8"));
    } catch {
      return undefined;
    }
    if (info.repo !== repo) return undefined;
    const size = await fileSize(dataPath(id));
    if (size === undefined) return undefined;
    const algorithm =
      info.algorithm !== undefined && isDigestAlgorithm(info.algorithm) ? info.algorithm : CANONICAL_ALGORITHM;
    return { id, repo, offset: size, algorithm };
  }

  async function must(repo: string, id: string): Promise<UploadSession> {
    const session = await get(repo, id);
    if (!session) throw new RegistryError("BLOB_UPLOAD_UNKNOWN", "upload session not found", { detail: { id } });
    return session;
  }

  /** The running hash of exactly the bytes in `data`, rebuilt by reading them when needed. */
  async function hashFor(id: string, offset: number, algorithm: DigestAlgorithm): Promise<HashState> {
    const known = hashes.get(id);
    if (known && known.offset === offset && known.algorithm === algorithm) return known;
    const hash = createDigester(algorithm);
    let read = 0;
    if (offset > 0) {
      for await (const chunk of createReadStream(dataPath(id), { end: offset - 1, highWaterMark: 1 << 20 })) {
        hash.update(chunk as Buffer);
        read += (chunk as Buffer).length;
      }
    }
    const state = { hash, offset: read, algorithm };
    hashes.set(id, state);
    return state;
  }

  async function appendLocked(
    session: UploadSession,
    source: Readable,
    start?: number,
    algorithm = session.algorithm,
  ): Promise<UploadSession> {
    if (start !== undefined && start !== session.offset) {
      source.resume();
      throw new RegistryError("BLOB_UPLOAD_INVALID", `chunk starts at ${start}, upload is at ${session.offset}`, {
        status: 416,
        headers: { Range: `0-${Math.max(0, session.offset - 1)}` },
      });
    }
    const state = await hashFor(session.id, session.offset, algorithm);
    // Until the append finishes, the in-memory hash may be ahead of what reached the disk.
    hashes.delete(session.id);
    let received = 0;
    const sink = new UploadSink(dataPath(session.id), (chunk) => {
      state.hash.update(chunk);
      received += chunk.length;
    });
    await pipeline(source, sink);
    state.offset = session.offset + received;
    hashes.set(session.id, state);
    return { ...session, offset: state.offset };
  }

  return {
    async create(repo, algorithm = CANONICAL_ALGORITHM) {
      const id = randomUUID();
      await mkdir(sessionDir(id), { recursive: true, mode: 0o700 });
      await writeFile(dataPath(id), "", { mode: 0o644 });
      const info = algorithm === CANONICAL_ALGORITHM ? { repo } : { repo, algorithm };
      await writeFile(join(sessionDir(id), "info.json"), JSON.stringify(info), { mode: 0o644, flush: true });
      await fsyncPath(sessionDir(id));
      return { id, repo, offset: 0, algorithm };
    },
    get,
    append: (repo, id, source, start) => exclusive(id, async () => appendLocked(await must(repo, id), source, start)),
    complete: (repo, id, digest, last) =>
      exclusive(id, async () => {
        let session = await must(repo, id);
        if (!isDigest(digest)) {
          last?.resume();
          throw invalidDigest(digest);
        }
        const algorithm = digestAlgorithm(digest);
        if (last) session = await appendLocked(session, last, undefined, algorithm);
        const state = await hashFor(id, session.offset, algorithm);
        const actual = digestFromHash(algorithm, state.hash.copy());
        if (actual !== digest) {
          // The bytes can never become this blob; keeping them would only leak disk.
          hashes.delete(id);
          await rm(sessionDir(id), { recursive: true, force: true });
          throw new RegistryError("DIGEST_INVALID", "uploaded content does not match the digest", {
            detail: { expected: digest, actual },
          });
        }
        await repos.blobs.adopt(dataPath(id), digest);
        await repos.linkBlob(repo, digest);
        hashes.delete(id);
        await rm(sessionDir(id), { recursive: true, force: true });
        return { digest, size: session.offset };
      }),
    discard: (id) =>
      exclusive(id, async () => {
        hashes.delete(id);
        await rm(sessionDir(id), { recursive: true, force: true });
      }),
    cancel: (repo, id) =>
      exclusive(id, async () => {
        if (!(await get(repo, id))) return false;
        hashes.delete(id);
        await rm(sessionDir(id), { recursive: true, force: true });
        return true;
      }),
    async list() {
      let ids: string[];
      try {
        ids = await readdir(root);
      } catch {
        return [];
      }
      const sessions = [];
      for (const id of ids.filter((name) => ID.test(name))) {
        try {
          const info = JSON.parse(await readFile(join(sessionDir(id), "info.json"), "utf8")) as { repo: string };
          const stats = await stat(dataPath(id));
          sessions.push({ id, repo: info.repo, modified: stats.mtime, offset: stats.size });
        } catch {
          // A session killed between mkdir and info.json: no client knows its id yet.
          const stats = await stat(sessionDir(id)).catch(() => undefined);
          if (stats) sessions.push({ id, repo: "", modified: stats.mtime, offset: 0 });
        }
      }
      return sessions;
    },
    activeCount: () => locks.size,
  };
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}
