import { parse as parseYaml } from "yaml";
import { nodeWithReadiness } from "./nodes.js";
import {
  apiGroupList,
  apiResourceList,
  apiVersions,
  CRD_PREFIX,
  findResourceType,
  groupVersion,
  RESOURCE_TYPES,
  type ResourceType,
  typesFromCrds,
} from "./resources.js";
import type { KubeObject, ObjectStore } from "./store.js";
import { asTable, wantsTable } from "./table.js";

/** SIMULATION of the Kubernetes API: discovery, Nodes, and generic storage of any object applied. */
export interface ApiRequest {
  method: string;
  path: string;
  accept?: string;
  contentType?: string;
  body: string;
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

export interface ApiContext {
  store: ObjectStore;
  /** The Kubernetes version the distro release claims, e.g. v1.31.4+rke2r1. */
  version: string;
  serverAddress: string;
  now: () => Date;
}

interface Target {
  group: string;
  version: string;
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export function handleApi(ctx: ApiContext, request: ApiRequest): ApiResponse {
  const path = request.path.split("?")[0]!.replace(/\/+$/, "") || "/";
  if (path === "/version") return ok(versionInfo(ctx.version));
  if (path === "/api") return ok(apiVersions(ctx.serverAddress));
  const types = [...RESOURCE_TYPES, ...typesFromCrds(ctx.store.list(CRD_PREFIX))];
  if (path === "/apis") return ok(apiGroupList(types));
  const target = parseTarget(path);
  if (!target) return status(404, "NotFound", `the server could not find the requested resource (${path})`);
  if (target.resource === "") {
    const list = apiResourceList(types, target.group, target.version);
    return list
      ? ok(list)
      : status(404, "NotFound", `no API group version ${groupVersion(target.group, target.version)}`);
  }
  try {
    return route(ctx, request, target, findResourceType(types, target.group, target.version, target.resource));
  } catch (error) {
    return status(400, "BadRequest", (error as Error).message);
  }
}

function route(ctx: ApiContext, request: ApiRequest, target: Target, type: ResourceType | undefined): ApiResponse {
  const prefix = `/${groupVersion(target.group, target.version)}/${target.resource}/`;
  const key = `${prefix}${target.namespace ?? "_"}/${target.name ?? ""}`;
  const kind = type?.kind ?? "Object";
  const now = ctx.now();
  const view = (object: KubeObject) =>
    target.resource === "nodes" && target.group === "" ? nodeWithReadiness(object, now) : object;

  switch (request.method) {
    case "GET": {
      if (target.name === undefined) {
        const named = nameSelected(request.path);
        const items = ctx.store
          .list(target.namespace ? `${prefix}${target.namespace}/` : prefix)
          .filter((object) => named === undefined || object.metadata?.name === named)
          .map(view);
        if (wantsTable(request.accept)) return ok(asTable(target.resource, items, now));
        return ok({
          kind: `${kind}List`,
          apiVersion: groupVersion(target.group, target.version),
          metadata: { resourceVersion: String(ctx.store.currentVersion()) },
          items,
        });
      }
      const object = ctx.store.get(key);
      if (!object) return notFound(target);
      return ok(wantsTable(request.accept) ? asTable(target.resource, [view(object)], now) : view(object));
    }
    case "POST": {
      const object = parseBody(request);
      const name = target.name ?? object.metadata?.name;
      if (!name) return status(422, "Invalid", "metadata.name is required");
      const createKey = `${prefix}${target.namespace ?? "_"}/${name}`;
      if (ctx.store.get(createKey)) return status(409, "AlreadyExists", `${target.resource} "${name}" already exists`);
      const created = withGeneration(withoutStatusIf(object, type), undefined);
      return { status: 201, body: ctx.store.put(createKey, normalise(created, target, kind, name, now)) };
    }
    case "PUT":
    case "PATCH": {
      if (!target.name) return status(405, "MethodNotAllowed", "PUT and PATCH need an object name");
      const existing = ctx.store.get(key);
      const body = parseBody(request);
      const merged =
        request.method === "PATCH" && existing && !/apply-patch/.test(request.contentType ?? "")
          ? mergePatch(existing, body)
          : body;
      if (request.method === "PATCH" && !existing && !/apply-patch/.test(request.contentType ?? ""))
        return notFound(target);
      const created = existing?.metadata?.creationTimestamp as string | undefined;
      if (target.subresource === "status") {
        // SIMULATION of the status subresource: only status changes, spec and generation stay.
        if (!existing) return notFound(target);
        const next = { ...existing, status: (merged as KubeObject).status };
        return { status: 200, body: ctx.store.put(key, normalise(next, target, kind, target.name, now, created)) };
      }
      const next = withGeneration(keepStatusIf(merged as KubeObject, existing, type), existing);
      const stored = ctx.store.put(key, normalise(next, target, kind, target.name, now, created));
      return { status: existing ? 200 : 201, body: stored };
    }
    case "DELETE": {
      if (!target.name) return status(405, "MethodNotAllowed", "DELETE needs an object name");
      const existing = ctx.store.get(key);
      if (!existing || !ctx.store.delete(key)) return notFound(target);
      return ok({
        kind: "Status",
        apiVersion: "v1",
        status: "Success",
        details: { name: target.name, kind: target.resource },
      });
    }
    default:
      return status(405, "MethodNotAllowed", `${request.method} is not supported`);
  }
}

/** `fieldSelector=metadata.name=X`, the one field selector the simulation knows. */
export function nameSelected(path: string): string | undefined {
  const selector = new URLSearchParams(path.split("?")[1] ?? "").get("fieldSelector");
  const match = /^metadata\.name=(.+)$/.exec(selector ?? "");
  return match?.[1];
}

/** For a watch: the store keys of the collection a path names (`/v1/configmaps/<ns>/`) and its kind. */
export function watchedCollection(path: string): { prefix: string; kind: string } | undefined {
  const target = parseTarget(path.split("?")[0]!.replace(/\/+$/, ""));
  if (!target || target.resource === "" || target.name !== undefined) return undefined;
  const prefix = `/${groupVersion(target.group, target.version)}/${target.resource}/`;
  const kind = findResourceType(RESOURCE_TYPES, target.group, target.version, target.resource)?.kind ?? "Object";
  return { prefix: target.namespace ? `${prefix}${target.namespace}/` : prefix, kind };
}

/** /api/v1/… or /apis/<group>/<version>/…, then [namespaces/<ns>/]<resource>[/<name>[/<subresource>]]. */
function parseTarget(path: string): Target | undefined {
  const parts = path
    .split("/")
    .filter((part) => part !== "")
    .map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === "api" && parts[1]) [group, version, rest] = ["", parts[1], parts.slice(2)];
  else if (parts[0] === "apis" && parts[1] && parts[2]) [group, version, rest] = [parts[1], parts[2], parts.slice(3)];
  else return undefined;
  if (rest.length === 0) return { group, version, resource: "" };
  if (rest[0] === "namespaces" && rest.length >= 3) {
    return {
      group,
      version,
      namespace: rest[1]!,
      resource: rest[2]!,
      ...(rest[3] ? { name: rest[3] } : {}),
      ...(rest[4] ? { subresource: rest[4] } : {}),
    };
  }
  return {
    group,
    version,
    resource: rest[0]!,
    ...(rest[1] ? { name: rest[1] } : {}),
    ...(rest[2] ? { subresource: rest[2] } : {}),
  };
}

function parseBody(request: ApiRequest): KubeObject {
  const parsed: unknown = parseYaml(request.body === "" ? "{}" : request.body);
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
    throw new Error("the request body is not an object");
  return parsed as KubeObject;
}

function normalise(
  object: KubeObject,
  target: Target,
  kind: string,
  name: string,
  now: Date,
  created?: string,
): KubeObject {
  return {
    ...object,
    apiVersion: object.apiVersion ?? groupVersion(target.group, target.version),
    kind: object.kind ?? kind,
    metadata: {
      ...(object.metadata ?? {}),
      name,
      ...(target.namespace ? { namespace: target.namespace } : {}),
      creationTimestamp: created ?? (object.metadata?.creationTimestamp as string | undefined) ?? now.toISOString(),
    },
  };
}

/** A type with a status subresource takes status only through it: a write to the object keeps the stored one. */
function withoutStatusIf(object: KubeObject, type: ResourceType | undefined): KubeObject {
  if (!type?.statusSubresource) return object;
  const { status: _ignored, ...rest } = object;
  return rest;
}

function keepStatusIf(
  object: KubeObject,
  existing: KubeObject | undefined,
  type: ResourceType | undefined,
): KubeObject {
  if (!type?.statusSubresource) return object;
  const rest = withoutStatusIf(object, type);
  return existing?.status === undefined ? rest : { ...rest, status: existing.status };
}

/** metadata.generation: 1 on create, one more whenever anything but metadata and status changes. */
function withGeneration(object: KubeObject, existing: KubeObject | undefined): KubeObject {
  const previous = Number(existing?.metadata?.generation ?? 0);
  const changed = !existing || canonical(desiredPart(object)) !== canonical(desiredPart(existing));
  const generation = changed ? previous + 1 : previous;
  return { ...object, metadata: { ...(object.metadata ?? {}), generation } };
}

function desiredPart(object: KubeObject): Record<string, unknown> {
  const { metadata: _m, status: _s, ...rest } = object;
  return rest;
}

/** JSON with object keys sorted, so two equal objects compare equal whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner && typeof inner === "object" && !Array.isArray(inner)
      ? Object.fromEntries(
          Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : inner,
  );
}

/** RFC 7386 JSON merge patch. */
function mergePatch(base: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const result: Record<string, unknown> =
    base && typeof base === "object" && !Array.isArray(base) ? { ...(base as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

function versionInfo(version: string) {
  const match = /^v(\d+)\.(\d+)/.exec(version);
  return {
    major: match?.[1] ?? "1",
    minor: match?.[2] ?? "0",
    gitVersion: version,
    gitCommit: "simulated",
    gitTreeState: "clean",
    buildDate: "1970-01-01T00:00:00Z",
    goVersion: "simulated (airstrap lab)",
    compiler: "airstrap-lab-simulation",
    platform: "linux/amd64",
  };
}

function ok(body: unknown): ApiResponse {
  return { status: 200, body };
}

function notFound(target: Target): ApiResponse {
  return status(404, "NotFound", `${target.resource} "${target.name ?? ""}" not found`);
}

export function status(code: number, reason: string, message: string): ApiResponse {
  return {
    status: code,
    body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code },
  };
}
