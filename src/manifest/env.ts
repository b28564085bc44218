import { originalOffsetThrough, type TextEdit } from "./text-edits.js";

const EXPRESSION = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}\n]*))?\}/g;

export interface Substitution {
  text: string;
  /** Variables that are unset and have no default, at their offset in the original text. */
  unset: Array<{ name: string; offset: number }>;
  /** Maps an offset in the substituted text back to the original, so positions stay those the operator wrote. */
  originalOffset(offset: number): number;
}

/**
 * Replaces `${VAR}` and `${VAR:-default}` with values from `env` before the YAML is parsed (so
 * `port: ${SSH_PORT:-22}` is a number, as k0sctl and envsubst users expect); `$${` stands for a
 * literal `${`. Whole-line comments are left alone, so documentation in them never fails.
 */
export function substituteEnvironment(text: string, env: Readonly<Record<string, string | undefined>>): Substitution {
  const edits: TextEdit[] = [];
  const unset: Substitution["unset"] = [];
  let output = "";
  let lineStart = 0;
  for (const line of text.split(/(?<=\n)/)) {
    if (/^\s*#/.test(line)) {
      output += line;
      lineStart += line.length;
      continue;
    }
    let copied = 0;
    for (const match of line.matchAll(EXPRESSION)) {
      const [expression, name, fallback] = match;
      let value: string;
      if (expression === "$${") value = "${";
      else {
        const fromEnv = env[name!];
        value = fromEnv !== undefined && fromEnv !== "" ? fromEnv : (fallback ?? "");
        if ((fromEnv === undefined || fromEnv === "") && fallback === undefined)
          unset.push({ name: name!, offset: lineStart + match.index });
      }
      output += line.slice(copied, match.index);
      edits.push({
        original: lineStart + match.index,
        originalLength: expression.length,
        substituted: output.length,
        substitutedLength: value.length,
      });
      output += value;
      copied = match.index + expression.length;
    }
    output += line.slice(copied);
    lineStart += line.length;
  }
  return {
    text: output,
    unset,
    originalOffset: originalOffsetThrough(edits),
  };
}
