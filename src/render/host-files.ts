import type { Plan, PlannedFile, PlannedHost } from "../plan/types.js";
import { type RenderSecrets, renderDistroConfig } from "./distro-config.js";
import { renderRegistries } from "./registries.js";
import { renderNodeUnit, renderRegistryUnit } from "./units.js";

export interface RenderedFile extends PlannedFile {
  content: string;
}

/** Pure: every file every host receives, with its content. Deterministic for the same inputs. */
export function renderHostFiles(plan: Plan, secrets: RenderSecrets): Map<string, RenderedFile[]> {
  return new Map(
    plan.hosts.map((host) => [
      host.name,
      (plan.files[host.name] ?? []).map((file) => ({ ...file, content: renderFile(plan, host, file, secrets) })),
    ]),
  );
}

function renderFile(plan: Plan, host: PlannedHost, file: PlannedFile, secrets: RenderSecrets): string {
  switch (file.kind) {
    case "distro-config":
      return renderDistroConfig(plan, host, secrets);
    case "registries":
      return renderRegistries(plan);
    case "node-unit":
      return renderNodeUnit(plan, host);
    case "registry-unit":
      return renderRegistryUnit(plan, host);
    case "node-plan":
      return renderPlanJson(plan);
  }
}

/** The plan as every node and the generated folder hold it. */
export function renderPlanJson(plan: Plan): string {
  return `${JSON.stringify(plan, null, 2)}\n`;
}
