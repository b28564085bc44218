import { createWriteStream, type WriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Events } from "../../events.js";
import {
  createDigester,
  type Digest,
  digestAlgorithm,
  digestFromHash,
  fetchedManifestDigest,
} from "../../store/digest.js";
import type { Repositories } from "../../store/repositories.js";
import type { Mirror } from "./mirror.js";
import { MANIFEST_ACCEPT, readAll, type UpstreamOptions, upstreamGet } from "./upstream-client.js";

const MAX_MANIFEST = 8 * 1024 * 1024;

/**
 * Pull-through from upstream registries, tried in order. Tags are asked upstream first (they
 * move) and the cached copy answers when every upstream fails; digests are answered from the
 * store and fetched only on a miss. A blob streams to the client while it is hashed into a temp
 * file; only a blob whose digest verified is renamed into the store.
 */
export function createMirror(
  repos: Repositories,
  upstreams: string[],
  events: Events,
  options: UpstreamOptions = {},
): Mirror {
  const query = (ns: string | null) => (ns ? `?ns=${encodeURIComponent(ns)}` : "");

  function warn(upstream: string, what: string, error: unknown) {
    events.emit({
      level: "warn",
      kind: "registry.upstream.unavailable",
      service: "registry",
      message: `upstream ${upstream} failed for ${what}: ${(error as Error).message}; serving what the store holds`,
      detail: { upstream, what },
    });
  }

  return {
    async fetchManifest(names, reference, ns) {
      for (const upstream of upstreams) {
        try {
          const res = await upstreamGet(
            upstream,
            `v2/${names.upstream}/manifests/${reference}${query(ns)}`,
            { Accept: MANIFEST_ACCEPT },
            { timeoutMs: 5_000, ...options },
          );
          if (res.statusCode !== 200) {
            res.resume();
            continue;
          }
          const bytes = await readAll(res, MAX_MANIFEST);
          const { digest, claimed } = fetchedManifestDigest(
            bytes,
            reference,
            res.headers["docker-content-digest"] as string | undefined,
          );
          if (claimed !== undefined && claimed !== digest) {
            throw new Error(`manifest from upstream does not match its digest (${claimed}, got ${digest})`);
          }
          const mediaType = String(res.headers["content-type"] ?? "")
            .split(";")[0]!
            .trim();
          return await repos.putManifest(names.local, reference, bytes, mediaType, { digest });
        } catch (error) {
          warn(upstream, `${names.upstream}:${reference}`, error);
        }
      }
      return undefined;
    },

    async streamBlob(names, digest, ns, req, res) {
      for (const upstream of upstreams) {
        let answer: IncomingMessage;
        try {
          answer = await upstreamGet(upstream, `v2/${names.upstream}/blobs/${digest}${query(ns)}`, {}, options);
        } catch (error) {
          warn(upstream, `${names.upstream}@${digest}`, error);
          continue;
        }
        if (answer.statusCode !== 200) {
          answer.resume();
          continue;
        }
        await relayAndStore(repos, names.local, digest, answer, req, res);
        return true;
      }
      return false;
    },
  };
}

async function relayAndStore(
  repos: Repositories,
  repo: string,
  digest: Digest,
  upstream: IncomingMessage,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const headers: Record<string, string> = {
    "Docker-Content-Digest": digest,
    "Content-Type": "application/octet-stream",
  };
  const length = upstream.headers["content-length"];
  if (length !== undefined) headers["Content-Length"] = length;
  res.writeHead(200, headers);
  const temp = repos.blobs.tempPath("mirror");
  const file = createWriteStream(temp, { mode: 0o644, highWaterMark: 1 << 20 });
  let fileError: Error | undefined;
  file.on("error", (error) => {
    fileError ??= error;
  });
  const algorithm = digestAlgorithm(digest);
  const hash = createDigester(algorithm);
  // The client going away must not cost us the copy: keep storing, stop relaying.
  let relaying = req.method !== "HEAD";
  res.on("close", () => {
    relaying = false;
  });
  try {
    for await (const chunk of upstream) {
      hash.update(chunk as Buffer);
      const fileReady = file.write(chunk) ? undefined : waitDrain(file);
      const clientReady = relaying && !res.write(chunk) ? waitDrain(res) : undefined;
      await Promise.all([fileReady, clientReady]);
      if (fileError) throw fileError;
    }
    await new Promise<void>((resolve, reject) =>
      file.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
    if (digestFromHash(algorithm, hash) !== digest) throw new Error(`blob from upstream does not match ${digest}`);
    await repos.blobs.adopt(temp, digest);
    await repos.linkBlob(repo, digest);
    res.end();
  } catch (error) {
    res.destroy(error as Error);
    throw error;
  } finally {
    file.destroy();
    await rm(temp, { force: true });
  }
}

function waitDrain(stream: WriteStream | ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off("drain", done);
      stream.off("close", done);
      resolve();
    };
    stream.once("drain", done);
    stream.once("close", done);
  });
}
