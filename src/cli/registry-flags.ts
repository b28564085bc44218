import { UsageError } from "../errors.js";
import {
  checkRegistryConfig,
  DEFAULT_MAX_MANIFEST_BYTES,
  parseListen,
  type RegistryConfig,
  registryConfigFromPlan,
  registryTlsNames,
} from "../services/registry/config.js";
import { ensurePushToken } from "../services/registry/push-token.js";
import { ensureRegistryTls } from "../services/registry/tls.js";
import { stateDirBeside } from "../state/state-dir.js";

/** What `airstrap registry serve` accepts; turned into a RegistryConfig by `serveConfigFromFlags`. */
export interface RegistryServeFlags {
  file?: string;
  node?: string;
  root?: string;
  listen: string[];
  stateDir?: string;
  tlsName: string[];
  htpasswd?: string;
  tokenFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  insecureHttp?: boolean;
  allowPullFrom: string[];
  upstream: string[];
  peer: string[];
  trustCa?: string;
  replicateInterval?: string;
  replicateRate?: string;
  gcInterval?: string;
  /** commander's negation of --no-automatic-cross-mount. */
  automaticCrossMount?: boolean;
}

export interface ServeSetup {
  config: RegistryConfig;
  /** The site CA clients must trust, when TLS came from the state dir. */
  caFile?: string;
  /** Where the push token lives, when one was generated. */
  tokenFile?: string;
}

export async function serveConfigFromFlags(flags: RegistryServeFlags): Promise<ServeSetup> {
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw new UsageError("--tls-cert and --tls-key go together");
  }
  let config: RegistryConfig;
  let stateDir = flags.stateDir;
  const names = [...flags.tlsName];
  if (flags.node !== undefined) {
    const file = flags.file ?? "cluster.yaml";
    // Loaded only for the manifest form: the flag form (the unit's) starts without the manifest
    // schema and the planner in memory.
    const [{ loadManifest }, { planCluster }] = await Promise.all([
      import("../manifest/load.js"),
      import("../plan/plan.js"),
    ]);
    const { manifest } = await loadManifest(file);
    const plan = planCluster(manifest);
    config = registryConfigFromPlan(plan, flags.node, {
      ...(flags.root ? { root: flags.root } : {}),
      ...(flags.listen[0] ? { listenAddress: parseListen(flags.listen[0]).address } : {}),
    });
    stateDir ??= stateDirBeside(file);
    names.push(...registryTlsNames(plan, flags.node));
  } else {
    if (flags.file !== undefined) throw new UsageError("-f FILE needs --node NAME (which replica this is)");
    if (!flags.root) throw new UsageError("say which store to serve: --root DIR (or -f cluster.yaml --node NAME)");
    if (flags.listen.length === 0) throw new UsageError("say where to listen: --listen ADDR:PORT");
    config = {
      root: flags.root,
      listen: flags.listen,
      auth: { anonymousPullNetworks: [] },
      upstreams: [],
      peers: [],
      maxManifestBytes: DEFAULT_MAX_MANIFEST_BYTES,
    };
  }
  config.auth.anonymousPullNetworks = [...config.auth.anonymousPullNetworks, ...flags.allowPullFrom];
  config.upstreams = [...config.upstreams, ...flags.upstream];
  config.peers = [...config.peers, ...flags.peer];
  config.allowPlainHttp = flags.insecureHttp === true;
  if (flags.htpasswd) config.auth.htpasswdFile = flags.htpasswd;
  const setup: ServeSetup = { config };
  if (flags.tokenFile) config.auth.tokenFile = flags.tokenFile;
  else if (stateDir && !flags.htpasswd) {
    config.auth.tokenFile = await ensurePushToken(stateDir);
    setup.tokenFile = config.auth.tokenFile;
  }
  if (flags.tlsCert && flags.tlsKey) {
    config.tls = { certFile: flags.tlsCert, keyFile: flags.tlsKey };
  } else if (stateDir && !flags.insecureHttp) {
    for (const listen of config.listen) {
      const { address: host } = parseListen(listen);
      if (host !== "0.0.0.0" && host !== "::") names.push(host);
    }
    const tls = await ensureRegistryTls(stateDir, names);
    config.tls = { certFile: tls.certFile, keyFile: tls.keyFile };
    setup.caFile = tls.caFile;
    config.trustCaFile = tls.caFile;
  }
  if (flags.trustCa) config.trustCaFile = flags.trustCa;
  if (flags.replicateInterval !== undefined) {
    config.replicateIntervalMs = positiveNumber(flags.replicateInterval, "--replicate-interval") * 1000;
  }
  if (flags.gcInterval !== undefined)
    config.gcIntervalMs = positiveNumber(flags.gcInterval, "--gc-interval") * 3_600_000;
  if (flags.replicateRate !== undefined) {
    config.replicateRateBytesPerSecond = positiveNumber(flags.replicateRate, "--replicate-rate") * 1024 * 1024;
  }
  if (flags.automaticCrossMount === false) config.automaticCrossMount = false;
  checkRegistryConfig(config);
  return setup;
}

function positiveNumber(value: string, flag: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new UsageError(`${flag}: "${value}" is not a positive number`);
  return number;
}
