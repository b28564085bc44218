import { setTimeout as sleep } from "node:timers/promises";
import { OperatorError } from "../errors.js";
import type { KubeClient } from "./client.js";

/** An object to apply: what airstrap renders or reads from a carried manifest. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

export type ApplyOutcome = "created" | "configured" | "unchanged";

export interface AppliedObject {
  /** kind/namespace/name, as a person reads it. */
  id: string;
  outcome: ApplyOutcome;
}

interface ResourceInfo {
  name: string;
  namespaced: boolean;
}

/**
 * Compare-then-apply: each object is read first and applied (server-side apply, airstrap as field
 * manager) only when something it sets differs from what the cluster holds, so a second run with
 * nothing changed writes nothing. What the server adds (defaults, status, other managers' fields)
 * is not a difference. Kinds are found through discovery; a kind a CRD applied just before brings
 * is looked up again until the API serves it (bounded).
 */
export function createApplier(client: KubeClient, options: { discoveryRetries?: number; retryDelayMs?: number } = {}) {
  const discovered = new Map<string, Map<string, ResourceInfo>>();

  async function resourceFor(apiVersion: string, kind: string): Promise<ResourceInfo> {
    const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const attempts = (options.discoveryRetries ?? 20) + 1;
    for (let attempt = 1; ; attempt++) {
      let kinds = discovered.get(apiVersion);
      if (!kinds) {
        const response = await client.get(base);
        if (response.status === 200) {
          const list = JSON.parse(response.body) as {
            resources?: Array<{ name: string; kind: string; namespaced: boolean }>;
          };
          kinds = new Map(
            (list.resources ?? [])
              .filter((r) => !r.name.includes("/"))
              .map((r) => [r.kind, { name: r.name, namespaced: r.namespaced }]),
          );
          discovered.set(apiVersion, kinds);
        }
      }
      const found = kinds?.get(kind);
      if (found) return found;
      discovered.delete(apiVersion);
      if (attempt >= attempts) {
        throw new OperatorError(`the cluster does not serve ${kind} (${apiVersion})`, {
          hint: "its CustomResourceDefinition must be applied and established first",
        });
      }
      await sleep(options.retryDelayMs ?? 500);
    }
  }

  async function pathOf(object: KubeObject): Promise<{ path: string; id: string }> {
    const { apiVersion, kind } = object;
    const name = object.metadata?.name;
    if (!apiVersion || !kind || !name)
      throw new Error(`an object to apply lacks apiVersion, kind or name: ${kind}/${name}`);
    const resource = await resourceFor(apiVersion, kind);
    const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const namespace = resource.namespaced ? (object.metadata?.namespace ?? "default") : undefined;
    const scope = namespace === undefined ? "" : `/namespaces/${encodeURIComponent(namespace)}`;
    return {
      path: `${base}${scope}/${resource.name}/${encodeURIComponent(name)}`,
      id: namespace === undefined ? `${kind}/${name}` : `${kind}/${namespace}/${name}`,
    };
  }

  return {
    pathOf,
    /** Applies one object unless the cluster already holds everything it sets. */
    async apply(object: KubeObject): Promise<AppliedObject> {
      const { path, id } = await pathOf(object);
      const current = await client.get(path);
      if (current.status === 200 && contains(JSON.parse(current.body), object)) return { id, outcome: "unchanged" };
      if (current.status !== 200 && current.status !== 404) throw applyError(id, "read", current);
      const applied = await client.apply(path, object);
      if (applied.status !== 200 && applied.status !== 201) throw applyError(id, "apply", applied);
      return { id, outcome: current.status === 404 ? "created" : "configured" };
    },
  };
}

export type Applier = ReturnType<typeof createApplier>;

function applyError(id: string, what: string, response: { status: number; body: string }): OperatorError {
  let message = response.body.slice(0, 300);
  try {
    message = (JSON.parse(response.body) as { message?: string }).message ?? message;
  } catch {}
  return new OperatorError(`cannot ${what} ${id}: HTTP ${response.status} ${message}`, {
    hint: "check the kubeconfig's permissions and that the API server is healthy",
  });
}

/**
 * Whether `actual` already has every value `desired` sets (maps compared key by key, lists item
 * by item and of the same length, scalars equal). Pure.
 */
export function contains(actual: unknown, desired: unknown): boolean {
  if (Array.isArray(desired)) {
    return (
      Array.isArray(actual) && actual.length === desired.length && desired.every((item, i) => contains(actual[i], item))
    );
  }
  if (desired !== null && typeof desired === "object") {
    if (actual === null || typeof actual !== "object" || Array.isArray(actual)) return false;
    return Object.entries(desired as Record<string, unknown>).every(([key, value]) =>
      contains((actual as Record<string, unknown>)[key], value),
    );
  }
  return actual === desired;
}
