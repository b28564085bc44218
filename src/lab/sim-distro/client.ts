import { OperatorError } from "../../errors.js";
import { requestBuffer } from "../../net/http-client.js";
import { caHash, parseToken } from "./token.js";

/**
 * SIMULATION of how a joining node talks to the supervisor: to the `server:` URL exactly as
 * written, its name resolved by this host's own resolver (getaddrinfo: /etc/hosts, then the DNS
 * servers in /etc/resolv.conf), connecting to whatever that returns.
 */
export interface SupervisorClient {
  caPem: string;
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
}

export class SupervisorError extends Error {
  constructor(
    message: string,
    readonly statusCode?: number,
  ) {
    super(message);
    this.name = "SupervisorError";
  }
}

async function httpsCall(
  url: URL,
  method: string,
  options: { ca?: string; auth?: string; body?: string; timeoutMs?: number },
): Promise<{ status: number; body: string }> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const response = await requestBuffer(url, {
    method,
    ...(options.ca ? { ca: options.ca } : { insecure: true }),
    headers: {
      ...(options.auth ? { authorization: `Basic ${Buffer.from(options.auth).toString("base64")}` } : {}),
      ...(options.body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(options.body !== undefined ? { body: options.body } : {}),
    connectTimeoutMs: timeoutMs,
    idleTimeoutMs: timeoutMs,
    maxBodyBytes: 16 * 1024 * 1024,
  });
  return { status: response.status, body: response.body.toString("utf8") };
}

/**
 * Fetches the cluster CA from /cacerts (unverified, as the real agent does) and pins it to the
 * hash in a full K10 token; every later call verifies the server against that CA.
 */
export async function connectSupervisor(
  serverUrl: string,
  token: string,
  user: "server" | "node",
): Promise<SupervisorClient> {
  let base: URL;
  try {
    base = new URL(serverUrl);
  } catch {
    throw new OperatorError(`server: ${serverUrl} is not a URL`, {
      hint: "write server: https://<name or address>:<port>",
    });
  }
  const parsed = parseToken(token);
  const cacerts = await httpsCall(new URL("/cacerts", base), "GET", {});
  if (cacerts.status !== 200) throw new SupervisorError(`GET /cacerts answered ${cacerts.status}`, cacerts.status);
  const caPem = cacerts.body;
  if (parsed.caHash && parsed.caHash !== caHash(caPem)) {
    throw new SupervisorError(`the CA served at ${serverUrl} does not match the hash in the token`);
  }
  const auth = `${user}:${parsed.password}`;
  return {
    caPem,
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      const answer = await httpsCall(new URL(path, base), method, {
        ca: caPem,
        auth,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      if (answer.status !== 200) {
        const message = (() => {
          try {
            return (JSON.parse(answer.body) as { message?: string }).message ?? answer.body;
          } catch {
            return answer.body;
          }
        })();
        throw new SupervisorError(
          `${method} ${path} at ${serverUrl} answered ${answer.status}: ${message}`,
          answer.status,
        );
      }
      return JSON.parse(answer.body) as T;
    },
  };
}

/** A peer server's supervisor, reached by its own address with the cluster CA (for replication). */
export function peerCall(
  peerUrl: string,
  caPem: string,
  password: string,
  method: string,
  path: string,
  body?: unknown,
) {
  return httpsCall(new URL(path, peerUrl), method, {
    ca: caPem,
    auth: `server:${password}`,
    timeoutMs: 3000,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}
