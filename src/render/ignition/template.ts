import { isScalar, visit } from "yaml";
import { compareDiagnostics, type Diagnostic, formatPath, type Path } from "../../manifest/diagnostics.js";
import { closestMatch } from "../../manifest/did-you-mean.js";
import { InvalidSourceError } from "../../manifest/invalid-source.js";
import { originalOffsetThrough, type TextEdit } from "../../manifest/text-edits.js";
import { parseYamlSource, type YamlSource } from "../../manifest/yaml-source.js";
import { diagnosticsFromIssues } from "../../manifest/zod-diagnostics.js";
import { ignitionConfigSchema } from "./schema.js";

/** An Ignition config written as YAML (or JSON) with `{{ NAME }}` placeholders. */
export interface IgnitionTemplate {
  /** What errors call it: the override's path, or `built-in:<name>`. */
  origin: string;
  text: string;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}|\{\{/g;
const token = (index: number) => `__airstrap_placeholder_${index}__`;
const TOKEN = /__airstrap_placeholder_(\d+)__/g;

/**
 * Renders a template to Ignition JSON, or throws InvalidSourceError naming the template file,
 * line and column of each problem (placeholders in whole-line comments are left alone). Placeholders are replaced by plain tokens before the YAML is
 * parsed, and the tokens by the values only in the parsed strings, so a value is never YAML (a
 * quote, a colon or a newline in it can change nothing but the string it lands in). A file's
 * `contents: { inline: TEXT }` (as in Butane) becomes a `data:` URL. The result is checked against
 * the Ignition spec and must carry `version`.
 */
export function renderIgnitionTemplate(
  template: IgnitionTemplate,
  variables: Readonly<Record<string, string>>,
  version: string,
): string {
  const diagnostic = (
    at: { line: number; column: number },
    path: Path,
    message: string,
    hint?: string,
  ): Diagnostic => ({
    severity: "error",
    file: template.origin,
    ...at,
    path: formatPath(path),
    message,
    ...(hint ? { hint } : {}),
  });
  const fail = (diagnostics: Diagnostic[]): never => {
    throw new InvalidSourceError(
      template.origin,
      diagnostics.sort(compareDiagnostics),
      template.text,
      "fix the template (its variables: docs/pxe-config.md), then run airstrap generate again",
    );
  };

  const { text, names, edits, unknown } = replacePlaceholders(template.text, variables);
  const source = parseYamlSource(text, template.text, originalOffsetThrough(edits));
  const known = Object.keys(variables).sort();
  const problems = unknown.map((u) => {
    const suggestion = closestMatch(u.name ?? "", known);
    return diagnostic(
      source.atOriginal(u.offset),
      [],
      u.name === undefined
        ? "a {{ without a variable name and }}"
        : `unknown template variable ${u.name}${suggestion ? `; did you mean ${suggestion}?` : ""}`,
      `variables: ${known.join(", ")}`,
    );
  });
  const syntax = [...source.document.errors].slice(0, 1);
  if (syntax.length > 0)
    fail([...problems, diagnostic(source.at(syntax[0]!.pos[0]), [], `YAML: ${syntax[0]!.message.split("\n")[0]}`)]);
  problems.push(...decimalModes(source, text, diagnostic));
  if (problems.length > 0) fail(problems);

  const substituted = substitute(source.document.toJS({ maxAliasCount: 100 }), (s) =>
    s.replace(TOKEN, (_, index: string) => variables[names[Number(index)]!]!),
  );
  problems.push(...inlineContents(substituted, source, diagnostic));
  const parsed = ignitionConfigSchema.safeParse(substituted);
  if (!parsed.success)
    problems.push(
      ...diagnosticsFromIssues(parsed.error.issues, ignitionConfigSchema, substituted, source, template.origin),
    );
  else if (parsed.data.ignition.version !== version)
    problems.push(
      diagnostic(
        source.positionOf(["ignition", "version"]),
        ["ignition", "version"],
        `version ${parsed.data.ignition.version}, but the manifest asks for ${version}`,
        'write version: "{{ IGNITION_VERSION }}", or set spec.provisioning.pxe.ignitionVersion',
      ),
    );
  if (problems.length > 0) fail(problems);
  return `${JSON.stringify(substituted, null, 2)}\n`;
}

function replacePlaceholders(
  original: string,
  variables: Readonly<Record<string, string>>,
): { text: string; names: string[]; edits: TextEdit[]; unknown: Array<{ name?: string; offset: number }> } {
  const names: string[] = [];
  const edits: TextEdit[] = [];
  const unknown: Array<{ name?: string; offset: number }> = [];
  let text = "";
  let copied = 0;
  for (const match of original.matchAll(PLACEHOLDER)) {
    // Whole-line comments are documentation: a placeholder there is left as written.
    if (/^\s*#/.test(original.slice(original.lastIndexOf("\n", match.index) + 1, match.index))) continue;
    const name = match[1];
    if (name === undefined || !Object.hasOwn(variables, name)) {
      unknown.push({ ...(name === undefined ? {} : { name }), offset: match.index });
      continue;
    }
    text += original.slice(copied, match.index);
    const replacement = token(names.length);
    names.push(name);
    edits.push({
      original: match.index,
      originalLength: match[0].length,
      substituted: text.length,
      substitutedLength: replacement.length,
    });
    text += replacement;
    copied = match.index + match[0].length;
  }
  return { text: text + original.slice(copied), names, edits, unknown };
}

function substitute(value: unknown, replace: (s: string) => string): unknown {
  if (typeof value === "string") return replace(value);
  if (Array.isArray(value)) return value.map((item) => substitute(item, replace));
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [replace(k), substitute(v, replace)]));
  return value;
}

type MakeDiagnostic = (at: { line: number; column: number }, path: Path, message: string, hint?: string) => Diagnostic;

/** YAML 1.2 reads `0644` as the decimal 644: a file mode written that way would be silently wrong. */
function decimalModes(source: YamlSource, parsedText: string, diagnostic: MakeDiagnostic): Diagnostic[] {
  const found: Diagnostic[] = [];
  visit(source.document, {
    Scalar(_, node) {
      if (!isScalar(node) || typeof node.value !== "number" || !node.range) return;
      const written = parsedText.slice(node.range[0], node.range[1]);
      if (/^0[0-9]+$/.test(written))
        found.push(
          diagnostic(
            source.at(node.range[0]),
            [],
            `${written} is the decimal number ${node.value} in YAML 1.2, not an octal mode`,
            `write 0o${written.slice(1)}`,
          ),
        );
    },
  });
  return found;
}

/** `contents: { inline: TEXT }` (in files and their append list) becomes `source: data:,…`. */
function inlineContents(config: unknown, source: YamlSource, diagnostic: MakeDiagnostic): Diagnostic[] {
  const problems: Diagnostic[] = [];
  const files = (config as { storage?: { files?: unknown } })?.storage?.files;
  if (!Array.isArray(files)) return problems;
  files.forEach((file, index) => {
    if (file === null || typeof file !== "object") return;
    const entry = file as Record<string, unknown>;
    const convert = (resource: unknown, path: Path) => {
      if (resource === null || typeof resource !== "object" || !("inline" in resource)) return resource;
      const { inline, ...rest } = resource as Record<string, unknown>;
      if (typeof inline !== "string") {
        problems.push(diagnostic(source.positionOf([...path, "inline"]), [...path, "inline"], "inline must be text"));
        return resource;
      }
      if (rest.source !== undefined)
        problems.push(
          diagnostic(
            source.positionOf([...path, "inline"]),
            [...path, "inline"],
            "inline and source both given",
            "one of them: inline text, or a source URL",
          ),
        );
      return { source: dataUrl(inline), ...rest };
    };
    const base: Path = ["storage", "files", index];
    if ("contents" in entry) entry.contents = convert(entry.contents, [...base, "contents"]);
    if (Array.isArray(entry.append)) entry.append = entry.append.map((r, i) => convert(r, [...base, "append", i]));
  });
  return problems;
}

/** RFC 2397, percent-encoded: readable in the generated JSON for short text. */
export function dataUrl(text: string): string {
  return `data:,${encodeURIComponent(text)}`;
}
