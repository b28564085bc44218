/**
 * Pure: the ad-hoc command-line form (`airstrap lb --listen ADDR:PORT --backend ADDR:PORT ...`)
 * and the tunables shared with the manifest form, as an LbConfig.
 */
import { UsageError } from "../errors.js";
import { formatEndpoint, parseEndpoint } from "../net/endpoint.js";
import {
  LB_DEFAULTS,
  type LbConfig,
  type LbHttpCheck,
  type LbListenerConfig,
  listenerWithDefaults,
} from "../services/lb/config.js";

export interface LbTuningFlags {
  interval?: string;
  rise?: string;
  fall?: string;
  connectTimeout?: string;
  idleTimeout?: string;
  maxConnections?: string;
  drainTimeout?: string;
  /** Commander's negated flag: --keep-connections-on-down sets this false. */
  closeOnDown?: boolean;
  admin?: string;
}

export interface LbAdHocFlags extends LbTuningFlags {
  listen: string;
  backend: string[];
  check?: string;
  expectStatus?: string;
}

export function lbConfigFromFlags(flags: LbAdHocFlags): LbConfig {
  const listen = parseEndpoint(flags.listen, "--listen", { allowPortZero: true });
  if (flags.backend.length === 0) {
    throw new UsageError("--listen needs at least one --backend ADDR:PORT", {
      hint: "airstrap lb --listen 127.0.0.1:16443 --backend 10.77.0.11:6443 --backend 10.77.0.12:6443",
    });
  }
  const backends = flags.backend.map((text) => {
    const endpoint = parseEndpoint(text, "--backend");
    return { name: formatEndpoint(endpoint), ...endpoint };
  });
  const http = parseCheck(flags.check ?? "tcp", flags.expectStatus);
  const listener = listenerWithDefaults({
    name: "lb",
    ...listen,
    backends,
    check: { ...LB_DEFAULTS.check, ...(http ? { http } : {}) },
  });
  return applyTuning({ listeners: [listener], drainTimeoutMs: LB_DEFAULTS.drainTimeoutMs }, flags);
}

/** Overrides from flags, applied to every listener (the manifest form uses this too). */
export function applyTuning(config: LbConfig, flags: LbTuningFlags): LbConfig {
  const interval = optionalMs(flags.interval, "--interval");
  const tune = (listener: LbListenerConfig): LbListenerConfig => ({
    ...listener,
    check: {
      ...listener.check,
      ...(interval === undefined ? {} : { intervalMs: interval, timeoutMs: Math.max(1, Math.round(interval * 0.9)) }),
      ...(flags.rise === undefined ? {} : { rise: count(flags.rise, "--rise") }),
      ...(flags.fall === undefined ? {} : { fall: count(flags.fall, "--fall") }),
    },
    ...(flags.connectTimeout === undefined ? {} : { connectTimeoutMs: ms(flags.connectTimeout, "--connect-timeout") }),
    ...(flags.idleTimeout === undefined ? {} : { idleTimeoutMs: ms(flags.idleTimeout, "--idle-timeout", true) }),
    ...(flags.maxConnections === undefined ? {} : { maxConnections: count(flags.maxConnections, "--max-connections") }),
    ...(flags.closeOnDown === false ? { closeOnBackendDown: false } : {}),
  });
  const drain = optionalMs(flags.drainTimeout, "--drain-timeout", true);
  return {
    ...config,
    listeners: config.listeners.map(tune),
    ...(drain === undefined ? {} : { drainTimeoutMs: drain }),
    ...(flags.admin === undefined ? {} : { admin: parseEndpoint(flags.admin, "--admin", { allowPortZero: true }) }),
  };
}

/** "tcp" | "http:/path" | "https:/path". */
function parseCheck(text: string, expectStatus: string | undefined): LbHttpCheck | undefined {
  if (text === "tcp") {
    if (expectStatus !== undefined) throw new UsageError("--expect-status needs an HTTP check: --check https:/readyz");
    return undefined;
  }
  const match = /^(https?):(\/\S*)$/.exec(text);
  if (!match) {
    throw new UsageError(`--check: "${text}" is not a check`, { hint: 'use "tcp", "http:/PATH" or "https:/PATH"' });
  }
  const statuses = (expectStatus ?? "200").split(",").map((s) => {
    const status = Number(s.trim());
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      throw new UsageError(`--expect-status: "${s}" is not an HTTP status`, { hint: "e.g. --expect-status 200,401" });
    }
    return status;
  });
  return { path: match[2]!, expectStatus: statuses, tls: match[1] === "https" };
}

function ms(text: string, flag: string, allowZero = false): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  const unit = match?.[2] ?? "ms";
  const value = match ? Number(match[1]) * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit] ?? 1) : Number.NaN;
  if (!Number.isFinite(value) || (!allowZero && value <= 0)) {
    throw new UsageError(`${flag}: "${text}" is not a duration`, { hint: `e.g. ${flag} 500ms or ${flag} 2s` });
  }
  return Math.round(value);
}

const optionalMs = (text: string | undefined, flag: string, allowZero = false) =>
  text === undefined ? undefined : ms(text, flag, allowZero);

function count(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${flag}: "${text}" must be a whole number ≥ 1`);
  return value;
}
