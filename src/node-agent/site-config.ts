import { createHash } from "node:crypto";
import { OperatorError } from "../errors.js";
import { validateManifestText } from "../manifest/validate.js";
import { planCluster } from "../plan/plan.js";
import { renderPlanJson } from "../render/host-files.js";

/**
 * What the agent makes of its ConfigMap, pure: the manifest it holds, checked with the same
 * schema as `airstrap validate`, planned, and rendered as the host service's plan.json; or why not.
 */
export type SiteConfig =
  | { ok: true; generation: string; planJson: string }
  | { ok: false; generation: string; problem: string };

export interface ConfigMapObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  data?: Record<string, string>;
}

/** A short digest of the manifest text: the same text is the same generation on every node. */
export function generationOf(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

export function siteConfigFrom(configMap: ConfigMapObject, key: string, nodeName: string): SiteConfig {
  const where = `ConfigMap ${configMap.metadata?.namespace ?? ""}/${configMap.metadata?.name ?? ""}`;
  const text = configMap.data?.[key];
  if (text === undefined) return { ok: false, generation: "none", problem: `${where} has no key ${key}` };
  const generation = generationOf(text);
  const result = validateManifestText(text, `${where} ${key}`, {});
  if (!result.manifest) {
    const errors = result.diagnostics
      .filter((d) => d.severity === "error")
      .map((d) => `${d.line}:${d.column} ${d.path ? `${d.path}: ` : ""}${d.message}`);
    return { ok: false, generation, problem: `${where} ${key} is not a valid manifest: ${errors.join("; ")}` };
  }
  try {
    const plan = planCluster(result.manifest);
    if (!plan.hosts.some((host) => host.name === nodeName)) {
      return { ok: false, generation, problem: `${where} ${key} has no host ${nodeName} (this node)` };
    }
    return { ok: true, generation, planJson: renderPlanJson(plan) };
  } catch (error) {
    if (error instanceof OperatorError) return { ok: false, generation, problem: `${where} ${key}: ${error.message}` };
    throw error;
  }
}
