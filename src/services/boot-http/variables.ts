import type { Group } from "./data.js";
import type { Labels } from "./select.js";

/**
 * The variables of /metadata and /generic, collected as Matchbox does: the group's metadata, then
 * its selectors (keys lowercased), then `request` = { query: the labels, raw_query }.
 */
export function collectVariables(group: Group, labels: Labels, rawQuery: string): Record<string, unknown> {
  const variables: Record<string, unknown> = structuredClone(group.metadata);
  for (const [key, value] of Object.entries(group.selector)) variables[key.toLowerCase()] = value;
  variables.request = { query: { ...labels }, raw_query: rawQuery };
  return variables;
}

/**
 * A scalar as Go's `%v` prints it (what Matchbox's metadata and templates show): JSON numbers are
 * float64, printed shortest, in exponent form from 1e+21 and 1e-05 on — and from 1e+06 for %v of
 * a float64, because Go decides with precision 6 when the shortest form is asked for.
 */
export function formatScalar(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return String(value);
  if (typeof value === "number") return goFloat(value);
  return undefined;
}

function goFloat(value: number): string {
  if (value === 0) return Object.is(value, -0) ? "-0" : "0";
  if (!Number.isFinite(value)) return Number.isNaN(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf";
  const [mantissa = "", exponentText = "0"] = value.toExponential().split("e");
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 6) {
    const sign = exponent < 0 ? "-" : "+";
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  // Plain notation: JavaScript's own shortest form agrees with Go's inside this exponent range.
  return String(value);
}
