/** The user and password of an `Authorization: Basic …` header, or undefined for any other header. */
export function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  const [scheme, value = ""] = (header ?? "").split(/\s+/, 2);
  if (scheme?.toLowerCase() !== "basic") return undefined;
  const decoded = Buffer.from(value, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
