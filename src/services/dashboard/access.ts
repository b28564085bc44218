import { timingSafeEqual } from "node:crypto";

/**
 * Who may see the page on a listener that has a token: the token comes once in the URL
 * (`/?token=…`, the link printed at start) and is then kept as a cookie, so it leaves the address
 * bar at once and is never part of a link the page makes. Pure: the server asks, this answers.
 */
export const TOKEN_COOKIE = "airstrap_dashboard";

export type Access =
  | { kind: "allowed" }
  /** The right token in the URL: set the cookie and send the browser to the same path without it. */
  | { kind: "set-cookie"; location: string; cookie: string }
  | { kind: "refused" };

export function decideAccess(token: string | undefined, url: URL, cookieHeader: string | undefined): Access {
  if (token === undefined) return { kind: "allowed" };
  const offered = url.searchParams.get("token");
  if (offered !== null && sameSecret(offered, token)) {
    const rest = new URLSearchParams(url.searchParams);
    rest.delete("token");
    const query = rest.toString();
    return {
      kind: "set-cookie",
      location: `${url.pathname}${query === "" ? "" : `?${query}`}`,
      cookie: `${TOKEN_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict`,
    };
  }
  const fromCookie = cookieValue(cookieHeader, TOKEN_COOKIE);
  return fromCookie !== undefined && sameSecret(fromCookie, token) ? { kind: "allowed" } : { kind: "refused" };
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) return value.join("=");
  }
  return undefined;
}

function sameSecret(offered: string, token: string): boolean {
  const a = Buffer.from(offered);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
