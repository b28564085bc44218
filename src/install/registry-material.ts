import { readFile } from "node:fs/promises";
import type { Plan } from "../plan/types.js";
import { registerSecret } from "../secrets.js";
import { registryTlsNames } from "../services/registry/config.js";
import { ensurePushToken } from "../services/registry/push-token.js";
import { ensureRegistryTls } from "../services/registry/tls.js";
import type { StateDir } from "../state/state-dir.js";

/** What the registry replicas need from the state dir; the CA key never leaves it. */
export interface RegistryMaterial {
  siteCa: string;
  pushToken: string;
  /** Per replica host: its server certificate (for its FQDN and address) and key. */
  hosts: Map<string, { cert: string; key: string }>;
}

/**
 * The site CA (made once), a server certificate per replica issued by it, and the push token:
 * created on the first run and read back unchanged on every later one, so a re-run installs nothing new.
 */
export async function registryMaterial(plan: Plan, state: StateDir): Promise<RegistryMaterial | undefined> {
  const replicas = plan.hosts.filter((h) => h.runsRegistry);
  if (replicas.length === 0) return undefined;
  const hosts = new Map<string, { cert: string; key: string }>();
  let caFile = "";
  for (const host of replicas) {
    const tls = await ensureRegistryTls(state.path, registryTlsNames(plan, host.name), `replica-${host.name}`);
    caFile = tls.caFile;
    const key = registerSecret(await readFile(tls.keyFile, "utf8"));
    hosts.set(host.name, { cert: await readFile(tls.certFile, "utf8"), key });
  }
  const pushToken = await readFile(await ensurePushToken(state.path), "utf8");
  return { siteCa: await readFile(caFile, "utf8"), pushToken, hosts };
}
