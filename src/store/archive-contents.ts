import type { Digest } from "./digest.js";

/** What reading an image archive (OCI layout or docker save tar) yields, before it becomes images. */
export interface ArchiveContents {
  /** Small files (index.json, manifest.json, configs) by normalised path. */
  small: Map<string, Buffer>;
  /** Large files that are not named by digest, already hashed into the store. */
  stored: Map<string, { digest: Digest; size: number }>;
  /** Symbolic links inside the archive: path → target path. */
  links: Map<string, string>;
}
