import { applyDefaults, type ClusterManifest } from "./defaults.js";
import { compareDiagnostics, type Diagnostic, formatPath } from "./diagnostics.js";
import { substituteEnvironment } from "./env.js";
import { clusterManifestSchema } from "./schema.js";
import { semanticFindings } from "./semantic.js";
import { parseYamlSource, type YamlSource } from "./yaml-source.js";
import { diagnosticsFromIssues } from "./zod-diagnostics.js";

export interface ValidationResult {
  /** Present only when there are no errors (warnings allowed). */
  manifest?: ClusterManifest;
  diagnostics: Diagnostic[];
  source?: YamlSource;
}

/**
 * Pure: text in, every finding out (all at once, in file order). Never throws on any input.
 */
export function validateManifestText(
  text: string,
  file: string,
  env: Readonly<Record<string, string | undefined>>,
): ValidationResult {
  const source = parseYamlSource(text);
  const at = (offset: number | undefined) => {
    const { line, col } = source.lineCounter.linePos(offset ?? 0);
    return { line, column: col };
  };
  const syntax = [...source.document.errors, ...source.document.warnings].map(
    (e): Diagnostic => ({
      severity: "error",
      file,
      ...at(e.pos[0]),
      path: "",
      message: `YAML: ${e.message.split("\n")[0]}`,
      hint: "fix the YAML syntax first; indentation uses spaces",
    }),
  );
  if (syntax.length > 0) return { diagnostics: syntax.sort(compareDiagnostics), source };

  const unset = substituteEnvironment(source.document, env);
  const diagnostics: Diagnostic[] = unset.map((u) => ({
    severity: "error",
    file,
    ...at(u.range?.[0]),
    path: "",
    message: `environment variable ${u.name} is not set`,
    hint: `export ${u.name}=..., or give a default: \${${u.name}:-value}`,
  }));

  const raw: unknown = source.document.toJS({ maxAliasCount: 100 });
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    diagnostics.push({
      severity: "error",
      file,
      line: 1,
      column: 1,
      path: "",
      message: "the manifest must be a YAML mapping with apiVersion, kind, metadata and spec",
      hint: "run airstrap init to write a commented example",
    });
    return { diagnostics, source };
  }
  const parsed = clusterManifestSchema.safeParse(raw);
  if (!parsed.success)
    diagnostics.push(...diagnosticsFromIssues(parsed.error.issues, clusterManifestSchema, raw, source, file));
  for (const finding of semanticFindings(raw)) {
    diagnostics.push({
      severity: finding.severity,
      file,
      ...source.positionOf(finding.path),
      path: formatPath(finding.path),
      message: finding.message,
      ...(finding.hint ? { hint: finding.hint } : {}),
    });
  }
  diagnostics.sort(compareDiagnostics);
  const hasErrors = diagnostics.some((d) => d.severity === "error");
  if (hasErrors || !parsed.success) return { diagnostics, source };
  return { manifest: applyDefaults(parsed.data), diagnostics, source };
}
