import type { IncomingMessage, ServerResponse } from "node:http";
import type { Digest } from "../../store/digest.js";
import { isRepositoryName, type ManifestRecord } from "../../store/repositories.js";

/** What the upstream calls a repository, and where its cached copy lives here. */
export interface MirrorNames {
  upstream: string;
  local: string;
}

/**
 * containerd mirrors several registries through one host and says which with `?ns=`:
 * `library/nginx?ns=docker.io` and `library/nginx?ns=quay.io` are different images, so the cache
 * keeps them apart as `docker.io/library/nginx` and `quay.io/library/nginx`.
 */
export function mirrorNames(repo: string, ns: string | null): MirrorNames {
  if (!ns) return { upstream: repo, local: repo };
  const upstream = repo.startsWith(`${ns}/`) ? repo.slice(ns.length + 1) : repo;
  const namespaced = `${ns}/${upstream}`;
  return { upstream, local: isRepositoryName(namespaced) ? namespaced : upstream };
}

/** Pull-through: what the handlers ask of upstreams when the store misses. */
export interface Mirror {
  /** Fetches (and stores) a manifest from the first upstream that has it; undefined if none. */
  fetchManifest(names: MirrorNames, reference: string, ns: string | null): Promise<ManifestRecord | undefined>;
  /** Streams a blob from an upstream to `res` while storing it; false if no upstream has it. */
  streamBlob(
    names: MirrorNames,
    digest: Digest,
    ns: string | null,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<boolean>;
}
