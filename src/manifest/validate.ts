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
  /** The document as plain data (after substitution), when it could be read. */
  raw?: unknown;
}

/**
 * Pure: text in, every finding out (all at once, in file order). Never throws on any input.
 */
export function validateManifestText(
  text: string,
  file: string,
  env: Readonly<Record<string, string | undefined>>,
): ValidationResult {
  const substitution = substituteEnvironment(text, env);
  const source = parseYamlSource(substitution.text, text, substitution.originalOffset);
  const unsetVariables = substitution.unset.map(
    (u): Diagnostic => ({
      severity: "error",
      file,
      ...source.atOriginal(u.offset),
      path: "",
      message: `environment variable ${u.name} is not set`,
      hint: `export ${u.name}=..., or give a default: \${${u.name}:-value}`,
    }),
  );
  // One broken line makes the YAML parser report every token after it: the first error is the one to fix.
  const syntax = [...source.document.errors, ...source.document.warnings].slice(0, 1).map(
    (e): Diagnostic => ({
      severity: "error",
      file,
      ...source.at(e.pos[0]),
      path: "",
      message: `YAML: ${e.message.split("\n")[0]}`,
      hint: "fix the YAML syntax first; indentation uses spaces",
    }),
  );
  if (syntax.length > 0) return { diagnostics: [...unsetVariables, ...syntax].sort(compareDiagnostics), source };
  const diagnostics: Diagnostic[] = [...unsetVariables];

  const documentError = (message: string, hint: string): Diagnostic => ({
    severity: "error",
    file,
    line: 1,
    column: 1,
    path: "",
    message,
    hint,
  });
  let raw: unknown;
  try {
    raw = source.document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // Aliases are resolved only here (an alias before its anchor, or an alias bomb).
    diagnostics.push(
      documentError(
        `YAML: ${(error as Error).message}`,
        "define every &anchor before its *alias, or write the value out",
      ),
    );
    return { diagnostics, source };
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    diagnostics.push(
      documentError(
        "the manifest must be a YAML mapping with apiVersion, kind, metadata and spec",
        "run airstrap init --example to write a commented example",
      ),
    );
    return { diagnostics, source, raw };
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
  // An unset variable already explains whatever is wrong with the line it left empty.
  const unsetLines = new Set(unsetVariables.map((u) => u.line));
  const reported = diagnostics
    .filter((d) => unsetVariables.includes(d) || !unsetLines.has(d.line))
    .sort(compareDiagnostics);
  if (reported.some((d) => d.severity === "error") || !parsed.success) return { diagnostics: reported, source, raw };
  return { manifest: applyDefaults(parsed.data), diagnostics: reported, source, raw };
}
