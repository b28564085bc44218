/**
 * Which backend a new connection tries first, second, ... — pure.
 *
 * Policy: least connections among the healthy backends of the first tier (discovered backends
 * when discovery found any, otherwise the manifest's), ties broken by rotation; then healthy
 * standbys (manifest backends discovery did not list); then the rest — unchecked before down —
 * so that when every check fails the proxy still tries them all instead of refusing everything.
 * Why least connections: API clients (kubelet, kube-proxy, controllers, kubectl watches) hold
 * long-lived connections, so the number of open connections, not the request rate, is what
 * must stay even across servers — and a server that comes back gets new connections first
 * instead of waiting its turn. The whole list is returned so a failed connect moves straight
 * on to the next candidate before the client notices.
 */
import type { BackendState } from "./health.js";

export type Tier = "primary" | "standby";

export interface Candidate {
  key: string;
  tier: Tier;
  state: BackendState;
  activeConnections: number;
}

const stateRank: Record<BackendState, number> = { up: 0, unchecked: 1, down: 2 };
const tierRank: Record<Tier, number> = { primary: 0, standby: 1 };

/**
 * `rotation` is a counter the caller bumps per connection: among equally loaded candidates it
 * picks a different first one each time, so a burst of new connections spreads out.
 */
export function connectOrder<C extends Candidate>(candidates: readonly C[], rotation: number): C[] {
  const count = candidates.length;
  if (count === 0) return [];
  const offset = ((rotation % count) + count) % count;
  const position = (index: number) => (index - offset + count) % count;
  return candidates
    .map((candidate, index) => ({ candidate, index }))
    .sort((a, b) => {
      const healthyA = a.candidate.state === "up";
      const healthyB = b.candidate.state === "up";
      if (healthyA !== healthyB) return healthyA ? -1 : 1;
      if (healthyA) {
        const byTier = tierRank[a.candidate.tier] - tierRank[b.candidate.tier];
        if (byTier !== 0) return byTier;
      } else {
        const byState = stateRank[a.candidate.state] - stateRank[b.candidate.state];
        if (byState !== 0) return byState;
        const byTier = tierRank[a.candidate.tier] - tierRank[b.candidate.tier];
        if (byTier !== 0) return byTier;
      }
      const byLoad = a.candidate.activeConnections - b.candidate.activeConnections;
      if (byLoad !== 0) return byLoad;
      return position(a.index) - position(b.index);
    })
    .map(({ candidate }) => candidate);
}

export interface TieredBackend<B> {
  backend: B;
  tier: Tier;
}

/** Discovered backends replace the static ones as first choice; static ones not listed stay as standbys. */
export function tierBackends<B>(
  staticBackends: readonly B[],
  discovered: readonly B[],
  keyOf: (backend: B) => string,
): TieredBackend<B>[] {
  if (discovered.length === 0) return staticBackends.map((backend) => ({ backend, tier: "primary" }));
  const listed = new Set(discovered.map(keyOf));
  const seen = new Set<string>();
  const result: TieredBackend<B>[] = [];
  for (const backend of discovered) {
    if (seen.has(keyOf(backend))) continue;
    seen.add(keyOf(backend));
    result.push({ backend, tier: "primary" });
  }
  for (const backend of staticBackends) {
    if (listed.has(keyOf(backend)) || seen.has(keyOf(backend))) continue;
    seen.add(keyOf(backend));
    result.push({ backend, tier: "standby" });
  }
  return result;
}
