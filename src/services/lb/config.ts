import { OperatorError } from "../../errors.js";
import { type Endpoint, formatEndpoint } from "../../net/endpoint.js";
import type { Plan } from "../../plan/types.js";

/**
 * The load balancer's configuration: listeners, each with a backend set made of the manifest's
 * (static) backends and, when discovery has found some, the discovered ones. Static backends that
 * discovery does not list stay on as last-resort standbys, so a wrong or empty discovery answer
 * can never leave a node with nowhere to send the API.
 */
export interface LbBackendAddress {
  /** A label for logs and metrics: the host name, or "addr:port" when there is none. */
  name: string;
  address: string;
  port: number;
}

export interface LbHttpCheck {
  /** Request path, e.g. "/readyz" (kube-apiserver) or "/ping" (RKE2/K3s supervisor). */
  path: string;
  /** Statuses that count as healthy. */
  expectStatus: number[];
  /** TLS for the check (the Kubernetes ports only speak HTTPS). */
  tls: boolean;
  /** PEM files of a client certificate and key, for API servers that refuse anonymous requests. */
  clientCertFile?: string;
  clientKeyFile?: string;
  /** PEM CA file; without it the server certificate is not verified (the check asks "alive?", not "who?"). */
  caFile?: string;
}

export interface LbHealthCheck {
  intervalMs: number;
  /** A probe slower than this fails. */
  timeoutMs: number;
  /** Consecutive successes that bring a backend up. */
  rise: number;
  /** Consecutive failures (active checks or connection failures) that bring a backend down. */
  fall: number;
  http?: LbHttpCheck;
}

export interface LbListenerConfig {
  /** "api", "join", or any label for ad-hoc listeners; unique within a config. */
  name: string;
  address: string;
  port: number;
  backends: {
    /** From the manifest/plan or the command line: never dropped, standbys when discovery lists others. */
    static: LbBackendAddress[];
    /** From discovery (a later service): replaces the static list as the first choice when non-empty. */
    discovered: LbBackendAddress[];
  };
  check: LbHealthCheck;
  /** Time allowed for a backend to accept before the next one is tried. */
  connectTimeoutMs: number;
  /** A connection with no traffic either way for this long is closed; 0 disables. */
  idleTimeoutMs: number;
  /** Accepted connections beyond this are closed at once. */
  maxConnections: number;
  /** Close client connections to a backend as soon as it is marked down, so clients reconnect elsewhere. */
  closeOnBackendDown: boolean;
}

export interface LbConfig {
  listeners: LbListenerConfig[];
  /** HTTP endpoint with /healthz and /metrics; absent = none. */
  admin?: { address: string; port: number };
  /** On reload (listener removed) and on close: how long established connections may finish. */
  drainTimeoutMs: number;
}

export const LB_DEFAULTS = {
  check: { intervalMs: 1000, timeoutMs: 900, rise: 2, fall: 2 } satisfies LbHealthCheck,
  connectTimeoutMs: 2000,
  idleTimeoutMs: 3_600_000,
  maxConnections: 10_000,
  closeOnBackendDown: true,
  drainTimeoutMs: 10_000,
} as const;

/** A listener with every tunable at its default. */
export function listenerWithDefaults(
  fields: Pick<LbListenerConfig, "name" | "address" | "port"> & {
    backends: LbBackendAddress[];
    discovered?: LbBackendAddress[];
  } & Partial<Omit<LbListenerConfig, "name" | "address" | "port" | "backends">>,
): LbListenerConfig {
  const { backends, discovered, ...rest } = fields;
  return {
    check: { ...LB_DEFAULTS.check },
    connectTimeoutMs: LB_DEFAULTS.connectTimeoutMs,
    idleTimeoutMs: LB_DEFAULTS.idleTimeoutMs,
    maxConnections: LB_DEFAULTS.maxConnections,
    closeOnBackendDown: LB_DEFAULTS.closeOnBackendDown,
    ...rest,
    backends: { static: backends, discovered: discovered ?? [] },
  };
}

export const backendKey = (backend: Endpoint) => formatEndpoint(backend);

export interface LbFromPlanOptions {
  /** Listen address; default: the node's own address from the plan. */
  listenAddress?: string;
  admin?: { address: string; port: number };
  /**
   * Client certificate for the API check. RKE2 and K3s run kube-apiserver with
   * --anonymous-auth=false, so an anonymous GET /readyz is answered 401 whether or not the server
   * is ready; with a certificate the check asks the real question and only 200 passes.
   */
  apiCheckClientCert?: { certFile: string; keyFile: string; caFile?: string };
}

/**
 * Pure: the node's load balancer as the plan describes it — one listener per planned listener
 * (api 16443 → servers' 6443, join 19345 → servers' 9345 on RKE2 or 6443 on K3s), on the node's
 * own address, with the manifest's servers as static backends.
 */
export function lbConfigFromPlan(plan: Plan, nodeName: string, options: LbFromPlanOptions = {}): LbConfig {
  const node = plan.hosts.find((host) => host.name === nodeName);
  if (!node) {
    throw new OperatorError(`node "${nodeName}" is not a host of cluster ${plan.name}`, {
      hint: `use one of: ${plan.hosts.map((host) => host.name).join(", ")}`,
    });
  }
  const address = options.listenAddress ?? node.address;
  const listeners = plan.loadBalancer.listeners.map((planned) =>
    listenerWithDefaults({
      name: planned.name,
      address,
      port: planned.port,
      backends: planned.backends.map((b) => ({ name: b.host, address: b.address, port: b.port })),
      check: { ...LB_DEFAULTS.check, http: checkFor(planned.name, options) },
    }),
  );
  return {
    listeners,
    drainTimeoutMs: LB_DEFAULTS.drainTimeoutMs,
    ...(options.admin ? { admin: options.admin } : {}),
  };
}

function checkFor(listener: "api" | "join", options: LbFromPlanOptions): LbHttpCheck {
  // The supervisor (RKE2 9345; K3s serves it on 6443 too) answers GET /ping with 200 "pong" without credentials.
  if (listener === "join") return { path: "/ping", expectStatus: [200], tls: true };
  const cert = options.apiCheckClientCert;
  if (cert) {
    return {
      path: "/readyz",
      expectStatus: [200],
      tls: true,
      clientCertFile: cert.certFile,
      clientKeyFile: cert.keyFile,
      ...(cert.caFile ? { caFile: cert.caFile } : {}),
    };
  }
  return { path: "/readyz", expectStatus: [200, 401], tls: true };
}
