import { createHmac } from "node:crypto";

/** The body and headers of a Flux generic-hmac Receiver call: X-Signature is sha256=<hex HMAC of the body>. */
export function webhookRequest(
  token: string,
  event: { repository: string; refs: Array<{ ref: string; before: string | null; after: string | null }> },
): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify({ event: "push", ...event });
  const signature = createHmac("sha256", token).update(body).digest("hex");
  return { body, headers: { "content-type": "application/json", "x-signature": `sha256=${signature}` } };
}

/** Ref changes between two `for-each-ref` listings: what a push did. */
export function refChanges(
  before: Map<string, string>,
  after: Map<string, string>,
): Array<{ ref: string; before: string | null; after: string | null }> {
  const refs = new Set([...before.keys(), ...after.keys()]);
  return [...refs]
    .sort()
    .filter((ref) => before.get(ref) !== after.get(ref))
    .map((ref) => ({ ref, before: before.get(ref) ?? null, after: after.get(ref) ?? null }));
}
