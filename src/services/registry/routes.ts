/** Which registry endpoint a request path names; pure, so it is tested without sockets. */
export type Route =
  | { kind: "base" }
  | { kind: "catalog" }
  | { kind: "uploads"; name: string }
  | { kind: "upload"; name: string; id: string }
  | { kind: "blob"; name: string; digest: string }
  | { kind: "manifest"; name: string; reference: string }
  | { kind: "tags"; name: string }
  | { kind: "referrers"; name: string; digest: string }
  | { kind: "health" }
  | { kind: "metrics" };

// The name may itself contain "blobs" or "manifests" as a component, so each pattern anchors
// the endpoint at the end of the path and leaves everything before it to the name.
const PATTERNS: [RegExp, (m: RegExpMatchArray) => Route][] = [
  [/^\/v2\/?$/, () => ({ kind: "base" })],
  [/^\/v2\/_catalog$/, () => ({ kind: "catalog" })],
  [/^\/v2\/(.+)\/blobs\/uploads\/?$/, (m) => ({ kind: "uploads", name: m[1]! })],
  [/^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/, (m) => ({ kind: "upload", name: m[1]!, id: m[2]! })],
  [/^\/v2\/(.+)\/blobs\/([^/]+)$/, (m) => ({ kind: "blob", name: m[1]!, digest: m[2]! })],
  [/^\/v2\/(.+)\/manifests\/([^/]+)$/, (m) => ({ kind: "manifest", name: m[1]!, reference: m[2]! })],
  [/^\/v2\/(.+)\/tags\/list$/, (m) => ({ kind: "tags", name: m[1]! })],
  [/^\/v2\/(.+)\/referrers\/([^/]+)$/, (m) => ({ kind: "referrers", name: m[1]!, digest: m[2]! })],
  [/^\/(healthz|readyz)$/, () => ({ kind: "health" })],
  [/^\/metrics$/, () => ({ kind: "metrics" })],
];

export function matchRoute(pathname: string): Route | undefined {
  let path: string;
  try {
    path = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  for (const [pattern, build] of PATTERNS) {
    const match = path.match(pattern);
    if (match) return build(match);
  }
  return undefined;
}

/** Whether a request only reads (anonymous pull may be allowed) or changes content. */
export function isReadMethod(method: string): boolean {
  return method === "GET" || method === "HEAD";
}
