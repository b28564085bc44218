import { isIP } from "node:net";
import { OperatorError } from "../../errors.js";
import { backendKey, type LbConfig, type LbListenerConfig } from "./config.js";

/** Rejects a configuration the load balancer cannot run with, naming the listener and field. */
export function validateLbConfig(config: LbConfig): void {
  if (config.listeners.length === 0) {
    throw new OperatorError("load balancer: no listeners configured", {
      hint: "give at least one --listen ADDR:PORT with --backend ADDR:PORT, or a manifest with servers",
    });
  }
  const names = new Set<string>();
  const bound = new Set<string>();
  for (const listener of config.listeners) {
    const where = `load balancer listener "${listener.name}"`;
    if (names.has(listener.name)) throw new OperatorError(`${where}: the name is used twice`);
    names.add(listener.name);
    checkAddress(listener.address, `${where}: address`);
    checkPort(listener.port, `${where}: port`, true);
    const key = backendKey(listener);
    if (listener.port !== 0 && bound.has(key)) {
      throw new OperatorError(`${where}: ${key} is already used by another listener`);
    }
    bound.add(key);
    checkListener(listener, where);
  }
  if (config.admin) {
    checkAddress(config.admin.address, "load balancer admin endpoint: address");
    checkPort(config.admin.port, "load balancer admin endpoint: port", true);
  }
  checkPositive(config.drainTimeoutMs, "load balancer: drainTimeoutMs", true);
}

function checkListener(listener: LbListenerConfig, where: string): void {
  const all = [...listener.backends.static, ...listener.backends.discovered];
  if (all.length === 0) {
    throw new OperatorError(`${where}: no backends`, { hint: "give at least one backend ADDR:PORT" });
  }
  for (const list of [listener.backends.static, listener.backends.discovered]) {
    const seen = new Set<string>();
    for (const backend of list) {
      checkAddress(backend.address, `${where}: backend "${backend.name}"`);
      checkPort(backend.port, `${where}: backend "${backend.name}" port`, false);
      const key = backendKey(backend);
      if (seen.has(key)) throw new OperatorError(`${where}: backend ${key} is listed twice`);
      seen.add(key);
    }
  }
  const { check } = listener;
  checkPositive(check.intervalMs, `${where}: check.intervalMs`);
  checkPositive(check.timeoutMs, `${where}: check.timeoutMs`);
  checkPositive(check.rise, `${where}: check.rise`);
  checkPositive(check.fall, `${where}: check.fall`);
  if (check.http) {
    if (!check.http.path.startsWith("/")) throw new OperatorError(`${where}: check path must start with "/"`);
    if (check.http.expectStatus.length === 0 || check.http.expectStatus.some((s) => s < 100 || s > 599)) {
      throw new OperatorError(`${where}: check expectStatus must list HTTP statuses (100-599)`);
    }
  }
  checkPositive(listener.connectTimeoutMs, `${where}: connectTimeoutMs`);
  checkPositive(listener.idleTimeoutMs, `${where}: idleTimeoutMs`, true);
  checkPositive(listener.maxConnections, `${where}: maxConnections`);
}

function checkAddress(address: string, what: string): void {
  if (isIP(address) === 0) {
    throw new OperatorError(`${what}: "${address}" is not an IP address`, { hint: "use an IPv4 or IPv6 address" });
  }
}

function checkPort(port: number, what: string, allowZero: boolean): void {
  if (!Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65535) {
    throw new OperatorError(`${what}: ${port} is not a valid port`, { hint: "use a port from 1 to 65535" });
  }
}

function checkPositive(value: number, what: string, allowZero = false): void {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new OperatorError(`${what}: ${value} must be a ${allowZero ? "non-negative" : "positive"} number`);
  }
}
