import { timingSafeEqual } from "node:crypto";
import { basicCredentials } from "../../net/basic-auth.js";

/** What a request asks for, read from its path and query (pure). */
export type GitRequest =
  | { kind: "refs" | "upload-pack" | "receive-pack"; repo: string; write: boolean }
  | { kind: "invalid"; reason: string };

const REPO = /^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*\.git$/;

/** The smart HTTP requests git makes (and nothing else: no dumb protocol, no browsing). */
export function classify(method: string, url: string): GitRequest {
  const parsed = new URL(url, "http://git.invalid");
  const path = decodeURIComponent(parsed.pathname);
  const match = /^\/(.+\.git)\/(info\/refs|git-upload-pack|git-receive-pack)$/.exec(path);
  if (!match) return { kind: "invalid", reason: "not a git smart HTTP path" };
  const repo = match[1]!;
  if (!REPO.test(repo) || repo.split("/").some((part) => part.startsWith(".")))
    return { kind: "invalid", reason: `repository name ${repo} is not allowed (lower-case names ending .git)` };
  if (match[2] === "info/refs") {
    const service = parsed.searchParams.get("service");
    if (method !== "GET" || (service !== "git-upload-pack" && service !== "git-receive-pack"))
      return { kind: "invalid", reason: "only smart HTTP is served (info/refs?service=…)" };
    return { kind: "refs", repo, write: service === "git-receive-pack" };
  }
  if (method !== "POST") return { kind: "invalid", reason: `${match[2]} takes POST` };
  return match[2] === "git-upload-pack"
    ? { kind: "upload-pack", repo, write: false }
    : { kind: "receive-pack", repo, write: true };
}

export type Principal = { user: string; canWrite: boolean } | undefined;

/** Who sent the request: a pushing user (checked by `verifyUser`) or a read-only token holder. */
export async function authenticate(
  authorization: string | undefined,
  readTokens: string[],
  verifyUser: (user: string, password: string) => Promise<boolean>,
): Promise<Principal> {
  const credentials = basicCredentials(authorization);
  if (!credentials) return undefined;
  const { user, password } = credentials;
  if (await verifyUser(user, password)) return { user, canWrite: true };
  if (readTokens.some((token) => sameSecret(password, token))) return { user: user || "token", canWrite: false };
  return undefined;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
