import { type Document, parse, Scalar, visit } from "yaml";

const EXPRESSION = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface UnsetVariable {
  name: string;
  range: [number, number, number] | undefined;
}

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every scalar value (not keys) with values from
 * `env`; `$${` stands for a literal `${`. Works on the parsed document so positions stay those
 * the operator wrote. A plain scalar that is only an expression is typed after substitution,
 * so `port: ${SSH_PORT:-22}` gives the number 22.
 */
export function substituteEnvironment(
  document: Document.Parsed,
  env: Readonly<Record<string, string | undefined>>,
): UnsetVariable[] {
  const unset: UnsetVariable[] = [];
  visit(document, {
    Scalar(key, scalar) {
      if (key !== "key") substituteScalar(scalar, env, unset);
    },
  });
  return unset;
}

function substituteScalar(
  scalar: Scalar,
  env: Readonly<Record<string, string | undefined>>,
  unset: UnsetVariable[],
): void {
  if (typeof scalar.value !== "string" || !scalar.value.includes("${")) return;
  const original = scalar.value;
  let missing = false;
  const replaced = original.replace(EXPRESSION, (match, name: string | undefined, fallback: string | undefined) => {
    if (match === "$${") return "${";
    const value = env[name!];
    if (value !== undefined && value !== "") return value;
    if (fallback !== undefined) return fallback;
    missing = true;
    unset.push({ name: name!, range: scalar.range ?? undefined });
    return match;
  });
  if (missing) return;
  const wholeExpression = /^\$\{[^}]*\}$/.test(original);
  if (wholeExpression && scalar.type === Scalar.PLAIN) {
    const typed: unknown = parse(replaced);
    scalar.value = typed === null || typeof typed === "object" ? replaced : typed;
  } else {
    scalar.value = replaced;
  }
}
