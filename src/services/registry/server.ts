import { readFile } from "node:fs/promises";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { OperatorError } from "../../errors.js";
import type { Events } from "../../events.js";
import { openBlobStore } from "../../store/blob-store.js";
import { isRepositoryName, openRepositories, type Repositories } from "../../store/repositories.js";
import type { RunningService } from "../service.js";
import { type Authorizer, createAuthorizer } from "./auth.js";
import * as blobs from "./blob-handlers.js";
import { createBodySlots, DEFAULT_BODY_SLOTS, DEFAULT_STALL_MS } from "./body-slots.js";
import { checkRegistryConfig, parseListen, type RegistryConfig } from "./config.js";
import { RegistryError } from "./errors.js";
import { createGate } from "./gate.js";
import { startPeriodicGc } from "./gc-schedule.js";
import { type Exchange, type RegistryContext, send, sendError } from "./http.js";
import * as manifests from "./manifest-handlers.js";
import { createMetrics } from "./metrics.js";
import { createMirror } from "./mirror-client.js";
import { startReplication } from "./peers.js";
import { isReadMethod, matchRoute, type Route } from "./routes.js";
import { openUploadSessions } from "./uploads.js";

export interface RunningRegistry extends RunningService<RegistryConfig> {
  /** The shared context, for in-process callers (garbage collection, replication, tests). */
  readonly context: RegistryContext;
}

/** Starts the OCI distribution registry over the store at `config.root`. */
export async function startRegistry(config: RegistryConfig, events: Events): Promise<RunningRegistry> {
  checkRegistryConfig(config);
  const repos = openRepositories(await openBlobStore(config.root));
  const ctx: RegistryContext = {
    repos,
    uploads: openUploadSessions(repos),
    events,
    maxManifestBytes: config.maxManifestBytes,
    gate: createGate(),
    mirror: await mirrorFor(repos, config, events),
    bodySlots: createBodySlots({ limit: DEFAULT_BODY_SLOTS, stallMs: DEFAULT_STALL_MS }),
  };
  let authorizer = await createAuthorizer(config.auth);
  const metrics = createMetrics();
  const tls = config.tls
    ? { cert: await readFile(config.tls.certFile), key: await readFile(config.tls.keyFile) }
    : undefined;

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    res.setHeader("Docker-Distribution-API-Version", "registry/2.0");
    res.on("finish", () => metrics.observe(req.method ?? "", res.statusCode, started));
    dispatch(ctx, authorizer, metrics, req, res).catch((error: unknown) => {
      if (error instanceof RegistryError) {
        sendError(res, error);
        return;
      }
      if (isClientGone(error, req)) return;
      events.emit({
        level: "error",
        kind: "registry.request.failed",
        service: "registry",
        message: `${req.method} ${req.url}: ${(error as Error).message}`,
        detail: { stack: (error as Error).stack },
      });
      if (!res.headersSent) {
        send(
          res,
          500,
          { "Content-Type": "application/json" },
          JSON.stringify({ errors: [{ code: "UNKNOWN", message: "internal error" }] }),
        );
      } else res.destroy();
    });
  };

  const servers: Server[] = [];
  const addresses: string[] = [];
  for (const listen of config.listen) {
    const { host, port } = parseListen(listen);
    const server = tls ? createHttpsServer({ ...tls }, handle) : createHttpServer(handle);
    server.keepAliveTimeout = 30_000;
    server.requestTimeout = 0;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const bound = server.address() as AddressInfo;
    addresses.push(bound.family === "IPv6" ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`);
    servers.push(server);
  }
  events.emit({
    level: "info",
    kind: "registry.start",
    service: "registry",
    message: `registry serving ${config.root} on ${addresses.map((a) => `${tls ? "https" : "http"}://${a}`).join(", ")}`,
    detail: { addresses, tls: Boolean(tls) },
  });

  let replication = replicationFor(repos, config, events);
  let gc = startPeriodicGc(ctx, config, events);
  let current = config;
  let closed: Promise<void> | undefined;
  return {
    addresses,
    ready: Promise.resolve(),
    context: ctx,
    /** Swaps credentials, networks, upstreams, peers and GC; where it listens needs a restart. */
    async reload(next) {
      checkRegistryConfig(next);
      const fixed = (c: RegistryConfig) => JSON.stringify([c.root, c.listen, c.tls, c.allowPlainHttp]);
      if (fixed(next) !== fixed(current)) {
        throw new OperatorError("registry: root, listen addresses and TLS files change only on restart", {
          hint: "restart the registry to apply them",
        });
      }
      authorizer = await createAuthorizer(next.auth);
      ctx.mirror = await mirrorFor(repos, next, events);
      ctx.maxManifestBytes = next.maxManifestBytes;
      await Promise.all([replication.stop(), gc.stop()]);
      replication = replicationFor(repos, next, events);
      gc = startPeriodicGc(ctx, next, events);
      current = next;
    },
    metrics: () => metrics.render(ctx.uploads.activeCount()),
    close() {
      closed ??= Promise.all([
        replication.stop(),
        gc.stop(),
        ...servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.close(() => resolve());
              server.closeIdleConnections();
            }),
        ),
      ]).then(() => undefined);
      return closed;
    },
  };
}

async function mirrorFor(repos: Repositories, config: RegistryConfig, events: Events) {
  if (config.upstreams.length === 0) return undefined;
  const ca = config.trustCaFile ? { ca: await readFile(config.trustCaFile) } : {};
  return createMirror(repos, config.upstreams, events, ca);
}

function replicationFor(repos: Repositories, config: RegistryConfig, events: Events) {
  return startReplication(repos, config.peers, {
    events,
    intervalMs: config.replicateIntervalMs ?? 60_000,
    ...(config.replicateRateBytesPerSecond ? { rateBytesPerSecond: config.replicateRateBytesPerSecond } : {}),
    ...(config.trustCaFile ? { caFile: config.trustCaFile } : {}),
  });
}

async function dispatch(
  ctx: RegistryContext,
  authorizer: Authorizer,
  metrics: ReturnType<typeof createMetrics>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://registry");
  const route = matchRoute(url.pathname);
  const method = req.method ?? "GET";
  if (route?.kind === "health") return send(res, 200, { "Content-Type": "text/plain" }, "ok\n");
  if (route?.kind === "metrics") {
    return send(res, 200, { "Content-Type": "text/plain; version=0.0.4" }, metrics.render(ctx.uploads.activeCount()));
  }
  await authorizer.check({
    method,
    remoteAddress: req.socket.remoteAddress,
    authorization: req.headers.authorization,
    ping: route?.kind === "base",
  });
  if (!route) throw new RegistryError("UNSUPPORTED", `no such endpoint: ${url.pathname}`, { status: 404 });
  const exchange: Exchange = { req, res, url };
  if (route.kind === "base") return methodIs(method, ["GET", "HEAD"], () => sendBase(res));
  if (route.kind === "catalog") return methodIs(method, ["GET"], () => manifests.listCatalog(ctx, exchange));
  if (!isRepositoryName(route.name)) {
    req.resume();
    throw new RegistryError("NAME_INVALID", "invalid repository name", { detail: { name: route.name } });
  }
  const repo = isReadMethod(method)
    ? await manifests.resolveRepository(ctx, route.name, url.searchParams.get("ns"))
    : route.name;
  return routeRepository(ctx, exchange, route, repo, method);
}

function sendBase(res: ServerResponse) {
  send(res, 200, { "Content-Type": "application/json" }, "{}");
}

async function routeRepository(ctx: RegistryContext, ex: Exchange, route: Route, repo: string, method: string) {
  switch (route.kind) {
    case "blob":
      if (method === "DELETE") return blobs.deleteBlob(ctx, ex, repo, route.digest);
      return methodIs(method, ["GET", "HEAD"], () => blobs.getBlob(ctx, ex, repo, route.digest));
    case "uploads":
      return methodIs(method, ["POST"], () => blobs.startUpload(ctx, ex, repo));
    case "upload":
      if (method === "PATCH") return blobs.patchUpload(ctx, ex, repo, route.id);
      if (method === "PUT") return blobs.finishUpload(ctx, ex, repo, route.id);
      if (method === "DELETE") return blobs.cancelUpload(ctx, ex, repo, route.id);
      return methodIs(method, ["GET", "HEAD"], () => blobs.uploadStatus(ctx, ex, repo, route.id));
    case "manifest":
      if (method === "PUT") return manifests.putManifest(ctx, ex, repo, route.reference);
      if (method === "DELETE") return manifests.deleteManifest(ctx, ex, repo, route.reference);
      return methodIs(method, ["GET", "HEAD"], () => manifests.getManifest(ctx, ex, repo, route.reference));
    case "tags":
      return methodIs(method, ["GET"], () => manifests.listTags(ctx, ex, repo));
    case "referrers":
      return methodIs(method, ["GET"], () => manifests.listReferrers(ctx, ex, repo, route.digest));
    default:
      throw new RegistryError("UNSUPPORTED", "unsupported endpoint", { status: 404 });
  }
}

async function methodIs(method: string, allowed: string[], work: () => unknown): Promise<void> {
  if (!allowed.includes(method)) {
    throw new RegistryError("UNSUPPORTED", `${method} is not supported here`, {
      headers: { Allow: allowed.join(", ") },
    });
  }
  await work();
}

function isClientGone(error: unknown, req: IncomingMessage): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return req.destroyed || code === "ECONNRESET" || code === "ERR_STREAM_PREMATURE_CLOSE" || code === "EPIPE";
}
