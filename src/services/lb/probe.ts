/**
 * One active health probe: a TCP connect, or an HTTP(S) GET whose status must be one of the
 * expected ones. Every probe ends within the timeout and leaves no socket behind.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { formatEndpoint } from "../../net/endpoint.js";
import type { LbHealthCheck, LbHttpCheck } from "./config.js";

export interface ProbeResult {
  ok: boolean;
  latencyMs: number;
  /** Why it failed, for the state-change event. */
  reason?: string;
}

/**
 * The HTTP(S) connection kept open between one backend's checks. A check on a fresh TLS connection
 * costs client and server about 2.6 ms of CPU together (the handshake); on an open connection about
 * 0.6 ms. With every node checking both ports of every server each second, fresh connections would
 * make checks most of an idle cluster's CPU, on the API servers above all. A failed check drops the
 * connection, so the next one starts afresh; so does every REFRESH_EVERY-th check, so a server that
 * stopped accepting new connections is still noticed.
 */
export class KeptCheckConnection {
  static readonly REFRESH_EVERY = 60;
  #agent: http.Agent | undefined;
  #uses = 0;

  agent(tls: boolean): http.Agent {
    if (this.#agent === undefined || this.#uses >= KeptCheckConnection.REFRESH_EVERY) {
      this.drop();
      this.#agent = new (tls ? https : http).Agent({ keepAlive: true, maxSockets: 1 });
    }
    this.#uses += 1;
    return this.#agent;
  }

  drop(): void {
    this.#agent?.destroy();
    this.#agent = undefined;
    this.#uses = 0;
  }
}

export function probeBackend(
  target: { address: string; port: number },
  check: LbHealthCheck,
  kept?: KeptCheckConnection,
): Promise<ProbeResult> {
  const started = performance.now();
  const finish = (ok: boolean, reason?: string): ProbeResult => ({
    ok,
    latencyMs: performance.now() - started,
    ...(reason === undefined ? {} : { reason }),
  });
  return check.http
    ? httpProbe(target, check.http, check.timeoutMs, finish, kept)
    : tcpProbe(target, check.timeoutMs, finish);
}

type Finish = (ok: boolean, reason?: string) => ProbeResult;

function tcpProbe(target: { address: string; port: number }, timeoutMs: number, finish: Finish) {
  return new Promise<ProbeResult>((resolve) => {
    const socket = net.connect({ host: target.address, port: target.port });
    const timer = setTimeout(() => done(false, `connect timed out after ${timeoutMs} ms`), timeoutMs);
    const done = (ok: boolean, reason?: string) => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on("error", () => {});
      socket.destroy();
      resolve(finish(ok, reason));
    };
    socket.once("connect", () => done(true));
    socket.once("error", (error) => done(false, error.message));
  });
}

function httpProbe(
  target: { address: string; port: number },
  check: LbHttpCheck,
  timeoutMs: number,
  finish: Finish,
  kept: KeptCheckConnection | undefined,
) {
  return new Promise<ProbeResult>((resolve) => {
    let settled = false;
    const done = (ok: boolean, reason?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // A passing check leaves a kept connection to the agent (it is reused once the body is read).
      if (!ok || kept === undefined) request.destroy();
      if (!ok) kept?.drop();
      resolve(finish(ok, reason));
    };
    const options = {
      host: target.address,
      port: target.port,
      path: check.path,
      method: "GET",
      agent: kept ? kept.agent(check.tls) : false,
      headers: kept
        ? { "user-agent": "airstrap-lb-check" }
        : { "user-agent": "airstrap-lb-check", connection: "close" },
      ...(check.tls ? tlsOptions(check) : {}),
    };
    const request = (check.tls ? https : http).request(options, (response) => {
      response.resume();
      const status = response.statusCode ?? 0;
      const ok = check.expectStatus.includes(status);
      done(ok, ok ? undefined : `${check.path} answered ${status}, expected ${check.expectStatus.join(" or ")}`);
    });
    const timer = setTimeout(
      () => done(false, `GET ${check.path} on ${formatEndpoint(target)} timed out after ${timeoutMs} ms`),
      timeoutMs,
    );
    request.on("error", (error) => done(false, error.message));
    request.end();
  });
}

const pemCache = new Map<string, Buffer>();
function pem(path: string): Buffer {
  let content = pemCache.get(path);
  if (content === undefined) {
    content = readFileSync(path);
    pemCache.set(path, content);
  }
  return content;
}

function tlsOptions(check: LbHttpCheck): https.RequestOptions {
  return {
    rejectUnauthorized: check.caFile !== undefined,
    ...(check.caFile ? { ca: pem(check.caFile) } : {}),
    ...(check.clientCertFile ? { cert: pem(check.clientCertFile) } : {}),
    ...(check.clientKeyFile ? { key: pem(check.clientKeyFile) } : {}),
  };
}
