import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { Events } from "../../events.js";
import { type ApiContext, handleApi, status } from "./api.js";
import type { StoreEntry } from "./store.js";
import { adminBearer, tokenMatches } from "./token.js";
import { isWatch, serveWatch, type WatchHub } from "./watch.js";

/** What the supervisor endpoints ask of the node program behind them. */
export interface SupervisorHandlers {
  join(request: JoinRequest): JoinResponse;
  heartbeat(name: string): boolean;
  replicate(entries: StoreEntry[]): void;
  snapshot(): StoreEntry[];
}

export interface JoinRequest {
  name: string;
  address: string;
  role: "server" | "agent";
  labels: Record<string, string>;
  taints: string[];
  version: string;
  supervisorUrl?: string;
}

export interface JoinResponse {
  caCert: string;
  /** Only to servers: what they need to serve the same cluster. */
  caKey?: string;
  password?: string;
  entries?: StoreEntry[];
}

export interface SimServerOptions {
  bindAddress: string;
  ports: number[];
  certPem: string;
  keyPem: string;
  caPem: string;
  password: string;
  api: ApiContext;
  /** Streams `?watch=1` requests (see watch.ts). */
  watches: WatchHub;
  supervisor: SupervisorHandlers;
  events: Events;
}

/**
 * SIMULATION of the distro's supervisor and API ports: one HTTPS handler on each port (K3s uses one
 * port for both, RKE2 two). Join, heartbeat and replication need the cluster token; the API needs
 * the kubeconfig's bearer token; /cacerts, /ping, /readyz, /livez, /healthz and /version are open.
 */
export async function startSimServers(options: SimServerOptions): Promise<{ close(): Promise<void> }> {
  const servers: Server[] = [];
  const bearer = adminBearer(options.password);
  for (const port of [...new Set(options.ports)]) {
    const server = createServer({ cert: options.certPem, key: options.keyPem }, (req, res) => {
      const watches = options.watches;
      if (isWatch(req.url ?? "/")) {
        if (req.headers.authorization !== `Bearer ${bearer}`) send(res, failure(401, "Unauthorized", "Unauthorized"));
        else serveWatch(watches, options.api.store, req.url ?? "/", res, { bookmarkMs: 30_000 });
        return;
      }
      readBody(req)
        .then((body) => send(res, respond(options, bearer, req, body)))
        .catch((error: Error) => send(res, failure(500, "InternalError", error.message)));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, options.bindAddress, () => resolve());
    });
    servers.push(server);
  }
  return {
    async close() {
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeAllConnections();
            }),
        ),
      );
    },
  };
}

interface Reply {
  code: number;
  json?: unknown;
  text?: string;
}

const json = (code: number, body: unknown): Reply => ({ code, json: body });
const text = (code: number, body: string): Reply => ({ code, text: body });
const failure = (code: number, reason: string, message: string): Reply =>
  json(code, status(code, reason, message).body);

function respond(options: SimServerOptions, bearer: string, req: IncomingMessage, body: string): Reply {
  const path = (req.url ?? "/").split("?")[0]!;
  const method = req.method ?? "GET";
  if (path === "/cacerts") return text(200, options.caPem);
  if (path === "/ping") return text(200, "pong");
  if (path === "/readyz" || path === "/livez" || path === "/healthz") return text(200, "ok");
  if (path.startsWith("/v1-sim/")) return supervisor(options, req, path, method, body);
  if (path !== "/version" && req.headers.authorization !== `Bearer ${bearer}`) {
    return failure(401, "Unauthorized", "Unauthorized");
  }
  const answer = handleApi(options.api, {
    method,
    path: req.url ?? "/",
    body,
    ...(req.headers.accept ? { accept: req.headers.accept } : {}),
    ...(req.headers["content-type"] ? { contentType: req.headers["content-type"] } : {}),
  });
  return json(answer.status, answer.body);
}

function supervisor(
  options: SimServerOptions,
  req: IncomingMessage,
  path: string,
  method: string,
  body: string,
): Reply {
  const credentials = basicAuth(req.headers.authorization);
  if (!credentials || !tokenMatches(credentials.password, options.password)) {
    options.events.emit({
      level: "warn",
      kind: "sim.join.refused",
      message: `refused ${method} ${path} from ${req.socket.remoteAddress}: wrong or missing token`,
    });
    return failure(401, "Unauthorized", "the join token is not this cluster's");
  }
  const asServer = credentials.user === "server";
  if (method === "POST" && path === "/v1-sim/join") {
    const request = JSON.parse(body) as JoinRequest;
    if (request.role === "server" && !asServer) return failure(403, "Forbidden", "a node token cannot join a server");
    const answer = options.supervisor.join(request);
    options.events.emit({
      level: "info",
      kind: "sim.join",
      host: request.name,
      message: `${request.role} ${request.name} (${request.address}) joined`,
    });
    return json(200, answer);
  }
  if (method === "POST" && path === "/v1-sim/heartbeat") {
    const { name } = JSON.parse(body) as { name: string };
    return options.supervisor.heartbeat(name)
      ? json(200, { ok: true })
      : failure(404, "NotFound", `node ${name} has not joined`);
  }
  if (!asServer) return failure(403, "Forbidden", "servers only");
  if (method === "POST" && path === "/v1-sim/replicate") {
    options.supervisor.replicate(JSON.parse(body) as StoreEntry[]);
    return json(200, { ok: true });
  }
  if (method === "GET" && path === "/v1-sim/snapshot") return json(200, options.supervisor.snapshot());
  return failure(404, "NotFound", path);
}

function basicAuth(header: string | undefined): { user: string; password: string } | undefined {
  if (!header?.startsWith("Basic ")) return undefined;
  const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon === -1 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

const MAX_BODY = 16 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error("request body too large"));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, reply: Reply): void {
  if (reply.text !== undefined) {
    res.writeHead(reply.code, { "content-type": "text/plain" });
    res.end(reply.text);
    return;
  }
  res.writeHead(reply.code, { "content-type": "application/json" });
  res.end(JSON.stringify(reply.json));
}
