import type { IncomingMessage, ServerResponse } from "node:http";
import { isRepositoryName } from "../../store/repositories.js";
import type { Authorizer } from "./auth.js";
import * as blobs from "./blob-handlers.js";
import { RegistryError } from "./errors.js";
import { type Exchange, type RegistryContext, send } from "./http.js";
import * as manifests from "./manifest-handlers.js";
import type { createMetrics } from "./metrics.js";
import { isReadMethod, matchRoute, type Route } from "./routes.js";

/** One request: health and metrics, then authorization, then the route's handler. */
export async function dispatch(
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
