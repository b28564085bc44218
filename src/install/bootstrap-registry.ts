import type { Events } from "../events.js";
import type { Plan } from "../plan/types.js";
import { explainBindError } from "../services/bind-error.js";
import { DEFAULT_MAX_MANIFEST_BYTES } from "../services/registry/config.js";
import { ensurePushToken } from "../services/registry/push-token.js";
import { type RunningRegistry, startRegistry } from "../services/registry/service.js";
import { ensureRegistryTls } from "../services/registry/tls.js";
import type { StateDir } from "../state/state-dir.js";

/**
 * The store, served as a registry on the bootstrap address while install runs: the replicas on
 * the servers copy every image and release from it. HTTPS with a certificate from the site CA
 * (the replicas trust nothing else), anonymous pulls only from the site's networks, pushes only
 * with the push token.
 */
export async function startBootstrapRegistry(
  plan: Plan,
  state: StateDir,
  storeRoot: string,
  events: Events,
): Promise<RunningRegistry> {
  if (!plan.bootstrap) throw new Error("startBootstrapRegistry: the plan has no bootstrap address");
  const url = new URL(plan.bootstrap.registryUrl);
  const tls = await ensureRegistryTls(state.path, [plan.bootstrap.address], "bootstrap");
  return startRegistry(
    {
      root: storeRoot,
      listen: [url.host],
      tls: { certFile: tls.certFile, keyFile: tls.keyFile },
      auth: { tokenFile: await ensurePushToken(state.path), anonymousPullNetworks: plan.dns.allowedNetworks },
      upstreams: [],
      peers: [],
      maxManifestBytes: DEFAULT_MAX_MANIFEST_BYTES,
    },
    events,
  ).catch((error) => {
    throw explainBindError(error, "the bootstrap registry", url.host, "spec.registry.port");
  });
}
