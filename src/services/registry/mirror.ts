import type { IncomingMessage, ServerResponse } from "node:http";
import type { Digest } from "../../store/digest.js";
import type { ManifestRecord } from "../../store/repositories.js";

/** Pull-through: what the handlers ask of upstreams when the store misses. */
export interface Mirror {
  /** Fetches (and stores) a manifest from the first upstream that has it; undefined if none. */
  fetchManifest(repo: string, reference: string, ns: string | null): Promise<ManifestRecord | undefined>;
  /** Streams a blob from an upstream to `res` while storing it; false if no upstream has it. */
  streamBlob(
    repo: string,
    digest: Digest,
    ns: string | null,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<boolean>;
}
