import { stringify } from "yaml";
import { AIRSTRAP_PATHS } from "../plan/distro-paths.js";
import type { Plan } from "../plan/types.js";

/**
 * registries.yaml: every mirrored upstream name goes to airstrap's registry replicas, in order.
 * Together with `disable-default-registry-endpoint` in config.yaml, containerd never tries the
 * internet. Each replica is trusted through the site CA.
 */
export function renderRegistries(plan: Plan): string {
  const endpoints = plan.registry.endpoints;
  const mirrors = Object.fromEntries(plan.registry.mirrors.map((name) => [name, { endpoint: endpoints }]));
  const configs = Object.fromEntries(
    endpoints.map((url) => [new URL(url).host, { tls: { ca_file: AIRSTRAP_PATHS.siteCa } }]),
  );
  const header = `# containerd registry mirrors for cluster ${plan.name}: every upstream is served by airstrap's registry.\n# Written by airstrap generate.\n`;
  return header + stringify({ mirrors, configs }, { lineWidth: 0, aliasDuplicateObjects: false });
}
