import { OperatorError, UsageError } from "../../errors.js";
import { type Endpoint, formatEndpoint, parseEndpoint } from "../../net/endpoint.js";
import { AIRSTRAP_PATHS } from "../../plan/distro-paths.js";
import type { Plan } from "../../plan/types.js";

/** Everything one registry instance needs; built by the CLI flags or from the plan. */
export interface RegistryConfig {
  /** The store root: the blob area, repositories/ and uploads/ live under it. */
  root: string;
  /** Where to listen: "127.0.0.1:5000", "[::1]:5000", "0.0.0.0:5000". Port 0 picks one. */
  listen: string[];
  /** Certificate and key (PEM files) to serve HTTPS; without them plain HTTP. */
  tls?: { certFile: string; keyFile: string };
  /** Plain HTTP on a non-loopback address happens only when this says so. */
  allowPlainHttp?: boolean;
  auth: {
    /** htpasswd file with bcrypt entries (htpasswd -B). */
    htpasswdFile?: string;
    /** File holding one bearer token (state dir, 0600); accepted as Bearer or as a Basic password. */
    tokenFile?: string;
    /** Networks (CIDR) whose clients may pull without credentials. Loopback always may. */
    anonymousPullNetworks: string[];
  };
  /** Pull-through upstreams ("https://registry.lan:5000"); tried in order on a miss. */
  upstreams: string[];
  /** Peer registries to replicate from ("https://k8s-server-02.edge.lan:5000"). */
  peers: string[];
  /** PEM CA file that upstreams' and peers' certificates chain to (the site CA). */
  trustCaFile?: string;
  /** How often to walk the peers for missing content (default 60 s). */
  replicateIntervalMs?: number;
  /** Bytes per second replication may use (default unlimited). */
  replicateRateBytesPerSecond?: number;
  /** Run garbage collection this often while serving; off when absent. */
  gcIntervalMs?: number;
  /** Content younger than this is never collected (default 1 h). */
  gcGraceMs?: number;
  /** Largest manifest accepted (the spec asks for at least 4 MiB). */
  maxManifestBytes: number;
  /**
   * A mount without `from` takes the blob from wherever this store has it (default true). Off,
   * such a mount falls back to an upload (202), as OCI_AUTOMATIC_CROSSMOUNT=0 expects; a mount
   * naming `from` still works.
   */
  automaticCrossMount?: boolean;
  /** How long a client may take to send a request's headers (default 30 s). */
  headersTimeoutMs?: number;
  /**
   * How long a connection may make no progress at all — no byte of a body arriving, no byte of a
   * response taken (default 120 s). Only stalls count: a slow upload that keeps moving is never cut.
   */
  idleTimeoutMs?: number;
  /** How long an upstream (mirror) may take to connect, answer, or move its body on (default 30 s). */
  upstreamTimeoutMs?: number;
}

export const REGISTRY_TIMEOUT_DEFAULTS = {
  headersTimeoutMs: 30_000,
  idleTimeoutMs: 120_000,
  upstreamTimeoutMs: 30_000,
} as const;

export const DEFAULT_MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** One of the registry's `listen` values ("127.0.0.1:5000", "[::1]:5000"); port 0 lets the kernel pick. */
export function parseListen(value: string, where = "--listen"): Endpoint {
  return parseEndpoint(value, where, { allowPortZero: true });
}

export function isLoopback(host: string): boolean {
  return host === "::1" || host.startsWith("127.") || host === "::ffff:127.0.0.1" || host.startsWith("::ffff:127.");
}

/** Refuses configurations that would be insecure without the operator having asked for it. */
export function checkRegistryConfig(config: RegistryConfig): void {
  const listen = config.listen.map((value) => parseListen(value));
  if (listen.length === 0) throw new OperatorError("registry: no listen address", { hint: "pass --listen ADDR:PORT" });
  if (!config.tls && !config.allowPlainHttp) {
    const exposed = listen.filter((address) => !isLoopback(address.address));
    if (exposed.length > 0) {
      throw new OperatorError(`registry: plain HTTP on ${exposed.map((a) => a.address).join(", ")} is not loopback`, {
        hint: "serve TLS (--state-dir DIR generates a site CA and certificate, or --tls-cert/--tls-key), or pass --insecure-http",
      });
    }
  }
  if (config.maxManifestBytes < DEFAULT_MAX_MANIFEST_BYTES) {
    throw new OperatorError("registry: the manifest size limit must be at least 4 MiB");
  }
  for (const url of [...config.upstreams, ...config.peers]) {
    try {
      const parsed = new URL(url);
      if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error("scheme");
    } catch {
      throw new OperatorError(`registry: "${url}" is not an http(s) URL`, {
        hint: "upstreams and peers are written like https://registry.lan:5000",
      });
    }
  }
}

/**
 * The registry replica on `nodeName` as the plan decides it: listen on the node's address at the
 * registry port, replicate from every other replica, let the site's networks pull anonymously.
 * TLS files are the caller's to provide (they come from the state dir).
 */
export function registryConfigFromPlan(
  plan: Plan,
  nodeName: string,
  options: { root?: string; tls?: RegistryConfig["tls"]; listenAddress?: string } = {},
): RegistryConfig {
  const host = plan.hosts.find((h) => h.name === nodeName);
  if (!host) {
    throw new UsageError(`no host named "${nodeName}" in the manifest`, {
      hint: `hosts: ${plan.hosts.map((h) => h.name).join(", ")}`,
    });
  }
  if (!host.runsRegistry) {
    throw new UsageError(`host "${nodeName}" does not run a registry replica`, {
      hint: `spec.registry.hosts lists: ${plan.registry.hosts.join(", ") || "(none)"}`,
    });
  }
  const address = options.listenAddress ?? host.address;
  const listen = formatEndpoint({ address, port: plan.registry.port });
  const ownEndpoint = `https://${host.fqdn}:${plan.registry.port}`;
  return {
    root: options.root ?? AIRSTRAP_PATHS.registryRoot,
    listen: [listen],
    ...(options.tls ? { tls: options.tls } : {}),
    auth: { anonymousPullNetworks: plan.dns.allowedNetworks },
    upstreams: [],
    peers: plan.registry.endpoints.filter((endpoint) => endpoint !== ownEndpoint),
    maxManifestBytes: DEFAULT_MAX_MANIFEST_BYTES,
  };
}

/** Names and addresses the registry's certificate must carry for `nodeName`. */
export function registryTlsNames(plan: Plan, nodeName: string): string[] {
  const host = plan.hosts.find((h) => h.name === nodeName);
  return host ? [host.fqdn, host.address] : [];
}
