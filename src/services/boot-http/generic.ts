import { formatScalar } from "./variables.js";

/**
 * The templates of `generic/`: a safe subset of Go's text/template — text with `{{ .path.to.key }}`
 * actions (and the `{{-`/`-}}` whitespace trims). Nothing else is allowed, so a template can never
 * run anything; an unknown variable is an error, as with Matchbox's `missingkey=error`.
 */

export type TemplatePart = { text: string } | { path: string[] };

export interface Template {
  parts: TemplatePart[];
}

export type Rendered = { ok: true; text: string } | { ok: false; problem: string };

const ACTION = /^\.[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** Parses a template; throws an Error saying what is wrong and where (line), for the store to name the file. */
export function parseTemplate(source: string): Template {
  const parts: TemplatePart[] = [];
  let rest = source;
  let trimNext = false;
  let consumed = 0;
  while (rest.length > 0) {
    const open = rest.indexOf("{{");
    let text = open === -1 ? rest : rest.slice(0, open);
    if (trimNext) text = text.trimStart();
    if (open === -1) {
      if (text) parts.push({ text });
      break;
    }
    const close = rest.indexOf("}}", open + 2);
    const line = lineAt(source, consumed + open);
    if (close === -1) throw new Error(`line ${line}: "{{" is never closed`);
    let inner = rest.slice(open + 2, close);
    if (inner.startsWith("- ")) {
      text = text.trimEnd();
      inner = inner.slice(2);
    }
    trimNext = inner.endsWith(" -");
    if (trimNext) inner = inner.slice(0, -2);
    inner = inner.trim();
    if (!ACTION.test(inner)) {
      throw new Error(
        `line ${line}: {{${inner}}} is not allowed (only variables like {{.mac}} or {{.request.query.os}})`,
      );
    }
    if (text) parts.push({ text });
    parts.push({ path: inner.slice(1).split(".") });
    consumed += close + 2;
    rest = rest.slice(close + 2);
  }
  return { parts };
}

export function renderTemplate(template: Template, variables: Record<string, unknown>): Rendered {
  let text = "";
  for (const part of template.parts) {
    if ("text" in part) {
      text += part.text;
      continue;
    }
    let value: unknown = variables;
    for (const key of part.path) {
      if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) {
        return { ok: false, problem: `no variable .${part.path.join(".")}` };
      }
      value = (value as Record<string, unknown>)[key];
    }
    const scalar = formatScalar(value);
    if (scalar === undefined)
      return { ok: false, problem: `.${part.path.join(".")} is not a string, number or boolean` };
    text += scalar;
  }
  return { ok: true, text };
}

function lineAt(source: string, index: number): number {
  return source.slice(0, index).split("\n").length;
}
