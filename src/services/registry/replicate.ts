import type { IncomingMessage } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import type { Events } from "../../events.js";
import { type Digest, fetchedManifestDigest } from "../../store/digest.js";
import { isManifestMediaType } from "../../store/oci-image-graph.js";
import { parseManifestLinks } from "../../store/oci-manifest.js";
import type { Repositories } from "../../store/repositories.js";
import { MANIFEST_ACCEPT, readAll, type UpstreamOptions, upstreamGet } from "./upstream-client.js";

/**
 * Copies everything a peer registry holds that this store lacks: walk the catalog, every tag,
 * every manifest and blob it names; fetch only what is missing, each blob verified and renamed
 * into place whole. A run that is cut off loses at most the blob in flight; the next run skips
 * what already arrived, so replication resumes by running again.
 *
 * Tag conflicts (the same tag pointing at different manifests on two replicas) resolve by last
 * write wins: the peer announces when its tag was written (`Airstrap-Tag-Time`), the copy keeps
 * that time, and equal times fall to the larger digest — so replicas converge whichever copies
 * from whichever first.
 */
export interface ReplicationOptions extends UpstreamOptions {
  /** Bytes per second across all blob downloads of this run; unlimited when absent. */
  rateBytesPerSecond?: number;
  signal?: AbortSignal;
  events: Events;
}

export interface ReplicationReport {
  repositories: number;
  tagsUpdated: number;
  tagsKept: number;
  blobsCopied: number;
  bytesCopied: number;
}

export const TAG_TIME_HEADER = "Airstrap-Tag-Time";
const MAX_MANIFEST = 8 * 1024 * 1024;

export async function replicateFrom(
  repos: Repositories,
  peer: string,
  options: ReplicationOptions,
): Promise<ReplicationReport> {
  const report: ReplicationReport = { repositories: 0, tagsUpdated: 0, tagsKept: 0, blobsCopied: 0, bytesCopied: 0 };
  const throttle = createThrottle(options.rateBytesPerSecond);

  async function get(path: string, headers: Record<string, string> = {}): Promise<IncomingMessage> {
    options.signal?.throwIfAborted();
    const res = await upstreamGet(peer, path, headers, options);
    if (res.statusCode !== 200) {
      res.resume();
      throw new Error(`${peer}/${path}: HTTP ${res.statusCode}`);
    }
    return res;
  }

  async function paged<T>(first: string, key: string): Promise<T[]> {
    const items: T[] = [];
    let path: string | undefined = first;
    for (let page = 0; path && page < 10_000; page++) {
      const res = await get(path);
      const link = res.headers.link;
      const body = JSON.parse((await readAll(res, 64 * 1024 * 1024)).toString("utf8")) as Record<string, T[] | null>;
      items.push(...(body[key] ?? []));
      const next = typeof link === "string" ? /<([^>]+)>;\s*rel="next"/.exec(link)?.[1] : undefined;
      path = next?.replace(/^\//, "");
    }
    return items;
  }

  async function copyBlob(repo: string, digest: Digest): Promise<void> {
    if (await repos.blobs.has(digest)) {
      await repos.linkBlob(repo, digest);
      return;
    }
    const res = await get(`v2/${repo}/blobs/${digest}`);
    const stored = await repos.blobs.write(throttle(res, options.signal), digest);
    await repos.linkBlob(repo, digest);
    report.blobsCopied += 1;
    report.bytesCopied += stored.size;
  }

  /** Fetches a manifest and everything under it; returns its bytes and media type. */
  async function copyManifest(repo: string, reference: string) {
    const res = await get(`v2/${repo}/manifests/${reference}`, { Accept: MANIFEST_ACCEPT });
    const mediaType = String(res.headers["content-type"] ?? "")
      .split(";")[0]!
      .trim();
    const tagTime = res.headers[TAG_TIME_HEADER.toLowerCase()];
    const bytes = await readAll(res, MAX_MANIFEST);
    // The peer names the digest it knows the manifest by (sha512 when it was pushed so); keep it.
    const { digest, claimed } = fetchedManifestDigest(
      bytes,
      reference,
      res.headers["docker-content-digest"] as string | undefined,
    );
    if (claimed !== undefined && digest !== claimed) throw new Error(`${peer}: manifest ${reference} does not verify`);
    for (const child of parseManifestLinks(bytes).children) {
      if (isManifestMediaType(child.mediaType)) {
        if (!(await repos.getManifest(repo, child.digest))) {
          const nested = await copyManifest(repo, child.digest);
          await repos.putManifest(repo, child.digest, nested.bytes, nested.mediaType);
        }
      } else if (!child.urls?.length) {
        await copyBlob(repo, child.digest);
      }
    }
    return { bytes, mediaType, digest, tagTime: typeof tagTime === "string" ? new Date(tagTime) : undefined };
  }

  for (const repo of await paged<string>("v2/_catalog?n=1000", "repositories")) {
    report.repositories += 1;
    for (const tag of await paged<string>(`v2/${repo}/tags/list?n=1000`, "tags")) {
      const remote = await copyManifest(repo, tag);
      const localDigest = await repos.resolveTag(repo, tag);
      if (localDigest === remote.digest) continue;
      const localTime = localDigest ? await repos.tagTime(repo, tag) : undefined;
      const remoteTime = remote.tagTime && !Number.isNaN(remote.tagTime.getTime()) ? remote.tagTime : new Date(0);
      if (localDigest && localTime && !remoteWins(localTime, localDigest, remoteTime, remote.digest)) {
        await repos.putManifest(repo, remote.digest, remote.bytes, remote.mediaType);
        report.tagsKept += 1;
        options.events.emit({
          level: "info",
          kind: "registry.replicate.conflict",
          service: "registry",
          message: `${repo}:${tag}: kept the local ${localDigest} (newer than ${remote.digest} on ${peer})`,
          detail: { repo, tag, local: localDigest, remote: remote.digest, peer },
        });
        continue;
      }
      await repos.putManifest(repo, tag, remote.bytes, remote.mediaType, {
        tagTime: remoteTime,
        digest: remote.digest,
      });
      report.tagsUpdated += 1;
    }
  }
  options.events.emit({
    level: "info",
    kind: "registry.replicate.done",
    service: "registry",
    message: `replicated from ${peer}: ${report.tagsUpdated} tag(s) updated, ${report.blobsCopied} blob(s), ${report.bytesCopied} bytes`,
    detail: { peer, ...report },
  });
  return report;
}

/** Last write wins; equal times (to the millisecond) fall to the larger digest. */
export function remoteWins(localTime: Date, localDigest: string, remoteTime: Date, remoteDigest: string): boolean {
  const difference = remoteTime.getTime() - localTime.getTime();
  if (difference !== 0) return difference > 0;
  return remoteDigest > localDigest;
}

/** A token bucket shared by every stream of one run. */
function createThrottle(rate: number | undefined) {
  let allowance = 0;
  let last = Date.now();
  return async function* (source: AsyncIterable<Uint8Array>, signal?: AbortSignal): AsyncIterable<Uint8Array> {
    for await (const chunk of source) {
      signal?.throwIfAborted();
      if (rate !== undefined && rate > 0) {
        const now = Date.now();
        allowance = Math.min(rate, allowance + ((now - last) / 1000) * rate);
        last = now;
        allowance -= chunk.length;
        if (allowance < 0) await sleep((-allowance / rate) * 1000, undefined, signal ? { signal } : {});
      }
      yield chunk;
    }
  };
}
