import { formatScalar } from "./variables.js";

/**
 * /metadata as Matchbox writes it: one `KEY=value` line per scalar, keys uppercased, nested
 * objects flattened with "_" (lists and nulls left out). Matchbox's order is random; ours is
 * sorted, so the same data always gives the same bytes.
 */
export function renderMetadata(variables: Record<string, unknown>): string {
  const lines: string[] = [];
  const walk = (prefix: string, object: Record<string, unknown>) => {
    for (const [key, value] of Object.entries(object)) {
      const name = prefix + key;
      const scalar = formatScalar(value);
      if (scalar !== undefined) lines.push(`${name.toUpperCase()}=${scalar}`);
      else if (typeof value === "object" && value !== null && !Array.isArray(value)) {
        walk(`${name}_`, value as Record<string, unknown>);
      }
    }
  };
  walk("", variables);
  return lines
    .sort()
    .map((line) => `${line}\n`)
    .join("");
}
