import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { LineCounter, parseAllDocuments } from "yaml";
import type { Diagnostic, Path } from "./diagnostics.js";
import { asArray, asObject, asString } from "./raw.js";
import type { YamlSource } from "./yaml-source.js";

const YAML_FILE = /\.ya?ml$/i;

/**
 * Every stage folder exists and each YAML file below it parses: errors in a stage's file name
 * that file and its line, so the operator fixes them before Flux would refuse the stage.
 */
export async function stageFolderDiagnostics(
  raw: unknown,
  manifestFile: string,
  manifestDir: string,
  source: YamlSource,
): Promise<Diagnostic[]> {
  const diagnostics: Diagnostic[] = [];
  const stages = asArray(asObject(asObject(raw)?.spec)?.stages);
  for (const [index, entry] of stages.entries()) {
    const stagePath = asString(asObject(entry)?.path);
    // Paths outside the repository are reported by the semantic checks; nothing is read there.
    if (!stagePath || stagePath.startsWith("/") || stagePath.split(/[\\/]/).includes("..")) continue;
    const path: Path = ["spec", "stages", index, "path"];
    const at = { file: manifestFile, ...source.positionOf(path), path: `spec.stages[${index}].path` };
    const folder = join(manifestDir, stagePath);
    const kind = await stat(folder).then(
      (s) => (s.isDirectory() ? "folder" : "file"),
      () => "missing",
    );
    if (kind !== "folder") {
      diagnostics.push({
        severity: "error",
        ...at,
        message:
          kind === "missing"
            ? `stage folder ${stagePath} does not exist (${folder})`
            : `stage path ${stagePath} is a file, not a folder`,
        hint: "stage paths are folders of Kubernetes manifests, relative to the manifest's folder",
      });
      continue;
    }
    const files = await yamlFilesBelow(folder);
    if (files.length === 0)
      diagnostics.push({
        severity: "warning",
        ...at,
        message: `stage folder ${stagePath} holds no YAML files: the stage applies nothing`,
      });
    for (const relative of files) {
      const file = join(manifestDir, stagePath, relative);
      const error = yamlError(await readFile(file, "utf8"));
      if (error)
        diagnostics.push({
          severity: "error",
          file,
          line: error.line,
          column: error.column,
          path: "",
          message: `YAML: ${error.message} (in stage "${asString(asObject(entry)?.name) ?? index}")`,
          hint: "fix the YAML syntax of this file; Flux would refuse the whole stage",
        });
    }
  }
  return diagnostics;
}

/** YAML files below `folder`, relative to it, in a stable order; hidden folders (.git) are skipped. */
async function yamlFilesBelow(folder: string, prefix = ""): Promise<string[]> {
  const entries = await readdir(join(folder, prefix), { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  const files: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith(".")) continue;
    const relative = prefix ? join(prefix, entry.name) : entry.name;
    if (entry.isDirectory()) files.push(...(await yamlFilesBelow(folder, relative)));
    else if (entry.isFile() && YAML_FILE.test(entry.name)) files.push(relative);
  }
  return files;
}

/** The first syntax error of a (multi-document) YAML text, with its 1-based position. */
export function yamlError(text: string): { line: number; column: number; message: string } | undefined {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const list = Array.isArray(documents) ? documents : [documents];
  for (const document of list) {
    const error = document.errors[0];
    if (error) {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      return { line, column: col, message: error.message.split("\n")[0]! };
    }
  }
  return undefined;
}
