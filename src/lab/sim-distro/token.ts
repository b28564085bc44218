import { createHash, timingSafeEqual } from "node:crypto";

/**
 * SIMULATION of the RKE2/K3s join token. The real node-token reads
 * `K10<sha256 of the cluster CA certificate>::server:<password>`; joiners may give that full form
 * (which also pins the CA) or the bare password.
 */
export interface ParsedToken {
  caHash?: string;
  password: string;
}

const FULL_TOKEN = /^K10([0-9a-f]{64})::(?:server|node):(.+)$/;

export function parseToken(text: string): ParsedToken {
  const trimmed = text.trim();
  const full = FULL_TOKEN.exec(trimmed);
  if (full) return { caHash: full[1]!, password: full[2]! };
  return { password: trimmed };
}

export function formatNodeToken(caPem: string, password: string): string {
  return `K10${caHash(caPem)}::server:${password}`;
}

export function caHash(caPem: string): string {
  return createHash("sha256").update(caPem).digest("hex");
}

/** Constant-time comparison of the presented password with the cluster's. */
export function tokenMatches(presented: string, clusterPassword: string): boolean {
  const a = createHash("sha256").update(parseToken(presented).password).digest();
  const b = createHash("sha256").update(clusterPassword).digest();
  return timingSafeEqual(a, b);
}

/** The kubeconfig's bearer token: derived from the cluster password, the same on every server. */
export function adminBearer(clusterPassword: string): string {
  return createHash("sha256").update(`airstrap-sim-admin:${clusterPassword}`).digest("hex");
}
