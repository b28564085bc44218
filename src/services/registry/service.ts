import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { OperatorError } from "../../errors.js";
import type { Events } from "../../events.js";
import { openBlobStore } from "../../store/blob-store.js";
import { openRepositories, type Repositories } from "../../store/repositories.js";
import type { RunningService } from "../service.js";
import { createAuthorizer } from "./auth.js";
import { createBodySlots, DEFAULT_BODY_SLOTS, DEFAULT_STALL_MS } from "./body-slots.js";
import { checkRegistryConfig, type RegistryConfig } from "./config.js";
import { dispatch } from "./dispatch.js";
import { RegistryError } from "./errors.js";
import { createGate } from "./gate.js";
import { startPeriodicGc } from "./gc-schedule.js";
import { type RegistryContext, send, sendError } from "./http.js";
import { createMetrics } from "./metrics.js";
import { createMirror } from "./mirror-client.js";
import { startReplication } from "./peers.js";
import { listenRegistry } from "./server.js";
import { openUploadSessions } from "./storage/uploads.js";

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
    automaticCrossMount: config.automaticCrossMount ?? true,
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

  const listeners = await listenRegistry(config, tls, handle);
  const addresses = listeners.addresses;
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
      ctx.automaticCrossMount = next.automaticCrossMount ?? true;
      listeners.setTimeouts(next);
      await Promise.all([replication.stop(), gc.stop()]);
      replication = replicationFor(repos, next, events);
      gc = startPeriodicGc(ctx, next, events);
      current = next;
    },
    metrics: () => metrics.render(ctx.uploads.activeCount()),
    close() {
      closed ??= Promise.all([replication.stop(), gc.stop(), listeners.close()]).then(() => undefined);
      return closed;
    },
  };
}

async function mirrorFor(repos: Repositories, config: RegistryConfig, events: Events) {
  if (config.upstreams.length === 0) return undefined;
  const ca = config.trustCaFile ? { ca: await readFile(config.trustCaFile) } : {};
  const timeout = config.upstreamTimeoutMs === undefined ? {} : { timeoutMs: config.upstreamTimeoutMs };
  return createMirror(repos, config.upstreams, events, { ...ca, ...timeout });
}

function replicationFor(repos: Repositories, config: RegistryConfig, events: Events) {
  return startReplication(repos, config.peers, {
    events,
    intervalMs: config.replicateIntervalMs ?? 60_000,
    ...(config.replicateRateBytesPerSecond ? { rateBytesPerSecond: config.replicateRateBytesPerSecond } : {}),
    ...(config.trustCaFile ? { caFile: config.trustCaFile } : {}),
  });
}

function isClientGone(error: unknown, req: IncomingMessage): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return req.destroyed || code === "ECONNRESET" || code === "ERR_STREAM_PREMATURE_CLOSE" || code === "EPIPE";
}
