import { OperatorError } from "../errors.js";
import { type Digest, isDigest } from "../store/digest.js";
import { isRepositoryName, isTag } from "../store/repositories.js";

export interface ImageReference {
  /** As written: docker.io/library/nginx:1.27 */
  original: string;
  /** Registry name as users write it: docker.io, quay.io, 127.0.0.1:5000 */
  registry: string;
  /** Host the distribution API is on (docker.io's is registry-1.docker.io). */
  apiHost: string;
  /** Path inside the registry: library/nginx */
  path: string;
  tag?: string;
  digest?: Digest;
  /**
   * Name in the store: `<registry>/<path>` (what the registry serves for a mirror request with
   * ?ns=<registry>), or just the path when the registry name cannot be part of a repository
   * name (a host:port).
   */
  storeRepository: string;
}

/** Parses an image reference the way docker and containerd do (docker.io and library/ implied). Pure. */
export function parseImageReference(text: string): ImageReference {
  const fail = (why: string) =>
    new OperatorError(`image "${text}": ${why}`, {
      hint: "write images as registry/path:tag or registry/path@sha256:… (or @sha512:…)",
    });
  let rest = text.trim();
  let digest: Digest | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    const value = rest.slice(at + 1);
    if (!isDigest(value)) throw fail(`"${value}" is not a sha256 or sha512 digest`);
    digest = value;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isTag(tag)) throw fail(`"${tag}" is not a valid tag`);
  }
  const parts = rest.split("/");
  const first = parts[0]!;
  const hasRegistry = parts.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost");
  const registry = hasRegistry ? first : "docker.io";
  let path = hasRegistry ? parts.slice(1).join("/") : rest;
  if (registry === "docker.io" && !path.includes("/")) path = `library/${path}`;
  if (!isRepositoryName(path)) throw fail(`"${path}" is not a valid repository path`);
  if (tag === undefined && digest === undefined) tag = "latest";
  const namespaced = `${registry}/${path}`;
  return {
    original: text,
    registry,
    apiHost: registry === "docker.io" ? "registry-1.docker.io" : registry,
    path,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
    storeRepository: isRepositoryName(namespaced) ? namespaced : path,
  };
}

/** Loopback registries are spoken to over plain HTTP (as containerd and skopeo allow); others over HTTPS. */
export function registryBaseUrl(apiHost: string): string {
  const host = apiHost.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  const loopback = host === "localhost" || host === "::1" || /^127\./.test(host);
  return `${loopback ? "http" : "https"}://${apiHost}`;
}
