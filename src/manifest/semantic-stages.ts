import { posix } from "node:path";
import type { Finding } from "./diagnostics.js";
import { closestMatch } from "./did-you-mean.js";
import { asArray, asObject, asString, type Raw } from "./raw.js";

interface StageEntry {
  index: number;
  name: string | undefined;
  path: string | undefined;
  dependsOn: Array<string | undefined>;
}

/**
 * The seed's rule: a stage may depend only on stages listed before it. Each violation is named
 * for what it is (itself, a later stage, a cycle, a name no stage has), at the dependsOn entry.
 */
export function stageFindings(spec: Raw): Finding[] {
  const stages: StageEntry[] = asArray(spec.stages).map((entry, index) => {
    const stage = asObject(entry);
    return {
      index,
      name: asString(stage?.name),
      path: asString(stage?.path),
      dependsOn: asArray(stage?.dependsOn).map(asString),
    };
  });
  return [...nameFindings(stages), ...dependencyFindings(stages), ...folderFindings(stages)];
}

function nameFindings(stages: StageEntry[]): Finding[] {
  const first = new Map<string, number>();
  return stages.flatMap((stage): Finding[] => {
    if (stage.name === undefined) return [];
    const earlier = first.get(stage.name);
    if (earlier === undefined) {
      first.set(stage.name, stage.index);
      return [];
    }
    return [
      {
        severity: "error",
        path: ["spec", "stages", stage.index, "name"],
        message: `duplicate stage name "${stage.name}": spec.stages[${earlier}] has it too`,
        hint: "every stage needs its own name (it becomes the Flux Kustomization's name)",
      },
    ];
  });
}

function dependencyFindings(stages: StageEntry[]): Finding[] {
  const indexOf = new Map<string, number>();
  for (const stage of stages)
    if (stage.name !== undefined && !indexOf.has(stage.name)) indexOf.set(stage.name, stage.index);
  const names = [...indexOf.keys()];
  const findings: Finding[] = [];
  for (const stage of stages) {
    const label = stage.name === undefined ? `spec.stages[${stage.index}]` : `stage "${stage.name}"`;
    const earlier = stages.slice(0, stage.index).flatMap((s) => s.name ?? []);
    const seen = new Set<string>();
    stage.dependsOn.forEach((dep, depIndex) => {
      if (dep === undefined) return;
      const path = ["spec", "stages", stage.index, "dependsOn", depIndex];
      const error = (message: string, hint: string) => findings.push({ severity: "error", path, message, hint });
      if (seen.has(dep)) {
        findings.push({ severity: "warning", path, message: `${label} lists "${dep}" twice in dependsOn` });
        return;
      }
      seen.add(dep);
      const target = indexOf.get(dep);
      if (dep === stage.name) error(`${label} depends on itself`, "remove it from its own dependsOn");
      else if (target === undefined) {
        const suggestion = closestMatch(dep, names);
        error(
          `${label} depends on "${dep}", which is not a stage${suggestion ? `; did you mean "${suggestion}"?` : ""}`,
          names.length ? `stages: ${names.join(", ")}` : "spec.stages names no stage",
        );
      } else if (target > stage.index) {
        const cycle = stage.name === undefined ? undefined : cycleThrough(stages, indexOf, dep, stage.name);
        if (cycle)
          error(
            `${label} depends on "${dep}", which depends back on it: a cycle ${[stage.name, ...cycle].join(" → ")}`,
            "a stage may depend only on earlier ones; break the cycle",
          );
        else
          error(
            `${label} depends on "${dep}", which is listed after it (spec.stages[${target}])`,
            `a stage may depend only on earlier ones: ${earlier.length ? `move "${dep}" above ${label}, or depend on one of ${earlier.join(", ")}` : `move "${dep}" above ${label}`}`,
          );
      }
    });
  }
  return findings;
}

/** The chain of names from `from` that leads back to `to`, or undefined when none does. */
function cycleThrough(
  stages: StageEntry[],
  indexOf: Map<string, number>,
  from: string,
  to: string,
): string[] | undefined {
  const visited = new Set<string>();
  const walk = (name: string): string[] | undefined => {
    if (name === to) return [name];
    if (visited.has(name)) return undefined;
    visited.add(name);
    const index = indexOf.get(name);
    if (index === undefined) return undefined;
    for (const dep of stages[index]!.dependsOn) {
      if (dep === undefined) continue;
      const rest = walk(dep);
      if (rest) return [name, ...rest];
    }
    return undefined;
  };
  return walk(from);
}

/**
 * A stage's folder lies inside the site repository (the manifest's folder), and no stage's folder
 * holds another's: Flux applies a folder with everything below it, so the files would belong to two stages.
 */
function folderFindings(stages: StageEntry[]): Finding[] {
  const findings: Finding[] = [];
  const folders: Array<{ index: number; name: string; folder: string }> = [];
  for (const stage of stages) {
    if (stage.path === undefined || stage.path === "") continue;
    const path = ["spec", "stages", stage.index, "path"];
    const folder = posix.normalize(stage.path.replaceAll("\\", "/")).replace(/\/+$/, "");
    if (posix.isAbsolute(folder) || folder === ".." || folder.startsWith("../") || folder === ".") {
      findings.push({
        severity: "error",
        path,
        message: `stage folder ${stage.path} is not a folder inside the site repository`,
        hint: "stage paths are relative to the manifest's folder (the site repository), like stages/base",
      });
      continue;
    }
    const holder = folders.find(
      (f) => f.folder === folder || folder.startsWith(`${f.folder}/`) || f.folder.startsWith(`${folder}/`),
    );
    if (holder)
      findings.push({
        severity: "error",
        path,
        message:
          holder.folder === folder
            ? `stage folder ${stage.path} is also stage "${holder.name}"'s folder`
            : `stage folder ${stage.path} and stage "${holder.name}"'s folder ${holder.folder} lie one inside the other`,
        hint: "Flux applies a folder with everything below it: give each stage a folder of its own, side by side",
      });
    folders.push({ index: stage.index, name: stage.name ?? `spec.stages[${stage.index}]`, folder });
  }
  return findings;
}
