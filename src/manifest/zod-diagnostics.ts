import type { z } from "zod";
import type { Diagnostic, Path } from "./diagnostics.js";
import { formatPath } from "./diagnostics.js";
import { closestMatch } from "./did-you-mean.js";
import type { YamlSource } from "./yaml-source.js";

/** Just enough of zod's internal definition to walk a schema along a path. */
interface SchemaDef {
  type: string;
  shape?: Record<string, { _zod: { def: SchemaDef } }>;
  element?: { _zod: { def: SchemaDef } };
  innerType?: { _zod: { def: SchemaDef } };
  options?: Array<{ _zod: { def: SchemaDef } }>;
  valueType?: { _zod: { def: SchemaDef } };
  discriminator?: string;
}

/** Turns zod's issues into diagnostics that point at the line and column the operator wrote. */
export function diagnosticsFromIssues(
  issues: z.core.$ZodIssue[],
  schema: z.ZodType,
  raw: unknown,
  source: YamlSource,
  file: string,
): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
    if (issue.code === "unrecognized_keys") {
      const known = Object.keys(objectShapeAt(schema, path, raw) ?? {});
      for (const key of issue.keys) {
        const suggestion = closestMatch(key, known);
        diagnostics.push({
          severity: "error",
          file,
          ...source.keyPositionOf(path, key),
          path: formatPath([...path, key]),
          message: `unknown key "${key}"${suggestion ? `; did you mean "${suggestion}"?` : ""}`,
          ...(known.length > 0 ? { hint: `valid keys here: ${known.join(", ")}` } : {}),
        });
      }
      continue;
    }
    const value = valueAt(raw, path);
    if (value === undefined && path.length > 0) {
      const parentPath = path.slice(0, -1);
      diagnostics.push({
        severity: "error",
        file,
        ...source.positionOf(parentPath),
        path: formatPath(path),
        message: `missing required key "${String(path[path.length - 1])}"${parentPath.length ? ` in ${formatPath(parentPath)}` : ""}`,
      });
      continue;
    }
    diagnostics.push({
      severity: "error",
      file,
      ...source.positionOf(path),
      path: formatPath(path),
      message: messageFor(issue, value),
      ...hintFor(issue, value),
    });
  }
  // "unknown key domian; did you mean domain?" already explains the missing "domain".
  const suggested = new Set(
    diagnostics.flatMap((d) =>
      d.message.startsWith("unknown key")
        ? [d.path.replace(/[^.[\]]+$/, "") + (d.message.match(/did you mean "([^"]+)"/)?.[1] ?? "")]
        : [],
    ),
  );
  return diagnostics.filter((d) => !(d.message.startsWith("missing required key") && suggested.has(d.path)));
}

function messageFor(issue: z.core.$ZodIssue, value: unknown): string {
  const got = describeValue(value);
  switch (issue.code) {
    case "invalid_type":
      if (issue.message.startsWith("Invalid input")) return `expected ${article(issue.expected)}, got ${got}`;
      return `${issue.message}, got ${got}`;
    case "invalid_value":
      if (issue.message.startsWith("Invalid"))
        return `must be ${issue.values.map((v) => JSON.stringify(v)).join(" or ")}, got ${got}`;
      return `${issue.message}, got ${got}`;
    case "too_small":
      if (issue.origin === "array") return `needs at least ${issue.minimum} item${issue.minimum === 1 ? "" : "s"}`;
      if (issue.origin === "string") return `must not be empty`;
      return `must be at least ${issue.minimum}, got ${got}`;
    case "too_big":
      if (issue.origin === "string" || issue.origin === "array") return `is too long (at most ${issue.maximum})`;
      return `must be at most ${issue.maximum}, got ${got}`;
    case "invalid_format":
      return `${issue.message.startsWith("Invalid") ? `not a valid ${issue.format}` : issue.message}, got ${got}`;
    case "invalid_union":
      return `${issue.message.startsWith("Invalid") ? "does not match any allowed form" : issue.message}, got ${got}`;
    default:
      return issue.message;
  }
}

function hintFor(issue: z.core.$ZodIssue, value: unknown): { hint?: string } {
  if (typeof value === "string" && /^(yes|no|on|off|y|n)$/i.test(value) && issue.message.includes("true or false")) {
    return { hint: "YAML 1.2 reads yes/no/on/off as text: write true or false" };
  }
  if (typeof value === "string" && /^\d+$/.test(value) && issue.code === "invalid_type") {
    return { hint: "remove the quotes to make it a number" };
  }
  return {};
}

function article(type: string): string {
  const names: Record<string, string> = {
    object: "a mapping",
    array: "a list",
    string: "a string",
    number: "a number",
    int: "a whole number",
    boolean: "true or false",
  };
  return names[type] ?? type;
}

export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "an empty value";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return `${typeof value} ${String(value)}`;
}

export function valueAt(raw: unknown, path: Path): unknown {
  let node = raw;
  for (const part of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string | number, unknown>)[part];
  }
  return node;
}

/** The keys a strict object at `path` accepts, following unions by the value written there. */
function objectShapeAt(schema: z.ZodType, path: Path, raw: unknown): Record<string, unknown> | undefined {
  let def: SchemaDef | undefined = (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
  const unwrap = (d: SchemaDef | undefined, at: Path): SchemaDef | undefined => {
    while (d) {
      if (d.innerType) d = d.innerType._zod.def;
      else if (d.type === "union" && d.options) {
        const value = valueAt(raw, at) as Record<string, unknown> | undefined;
        const key = d.discriminator;
        const chosen = d.options.find((o) => {
          const shape = o._zod.def.shape;
          if (!shape) return false;
          if (key === undefined || value === undefined) return true;
          const literal = shape[key]?._zod.def as unknown as { values?: unknown[] };
          return literal?.values?.includes(value[key]) ?? false;
        });
        d = (chosen ?? d.options[0])?._zod.def;
      } else return d;
    }
    return d;
  };
  def = unwrap(def, []);
  for (let i = 0; i < path.length; i++) {
    const part = path[i]!;
    if (!def) return undefined;
    if (def.type === "object" && typeof part === "string") def = def.shape?.[part]?._zod.def;
    else if (def.type === "array") def = def.element?._zod.def;
    else if (def.type === "record") def = def.valueType?._zod.def;
    else return undefined;
    def = unwrap(def, path.slice(0, i + 1));
  }
  return def?.type === "object" ? def.shape : undefined;
}
