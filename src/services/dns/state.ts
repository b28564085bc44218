import { OperatorError } from "../../errors.js";
import type { Events } from "../../events.js";
import { NetworkMatcher, parseCidr } from "./address.js";
import { AnswerCache } from "./cache.js";
import type { DnsConfig } from "./config.js";
import { Forwarder } from "./forwarder.js";
import type { DnsState } from "./handler.js";
import type { DnsMetrics } from "./metrics.js";
import { compileZones } from "./zone.js";

/** Compiles everything a configuration implies; throws OperatorError before anything is swapped. */
export function buildState(
  config: DnsConfig,
  serial: number,
  metrics: DnsMetrics,
  events: Events,
  previous?: DnsState,
  previousConfig?: DnsConfig,
): DnsState {
  for (const cidr of config.allowedNetworks) {
    if (parseCidr(cidr) === undefined) {
      throw new OperatorError(`DNS allowed network "${cidr}" is not a network`, {
        hint: "write networks as 10.77.0.0/24 or fd00::/64",
      });
    }
  }
  const zones = compileZones(config, serial);
  const sameUpstreams =
    previous !== undefined &&
    previousConfig !== undefined &&
    JSON.stringify(previousConfig.upstreams) === JSON.stringify(config.upstreams) &&
    previousConfig.upstreamTimeoutMs === config.upstreamTimeoutMs &&
    previousConfig.cacheEntries === config.cacheEntries;
  return {
    zones,
    matcher: new NetworkMatcher(config.allowedNetworks),
    forwarder: sameUpstreams
      ? previous.forwarder
      : new Forwarder(config.upstreams, config.upstreamTimeoutMs, metrics, events),
    cache: sameUpstreams ? previous.cache : new AnswerCache(config.cacheEntries),
    encoded: new Map(),
  };
}
