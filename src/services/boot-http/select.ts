import { normalizeMac } from "./mac.js";

/**
 * Matchbox's selection: a request's query parameters are its labels, groups are tried from the
 * most specific to the least, and the first group whose every selector equals a label wins.
 */

export type Labels = Record<string, string>;

/** What selection needs of a group: its selector pairs (MACs already normalized). */
export interface Selectable {
  selector: Labels;
}

/**
 * Each query parameter becomes a label holding its first value; a `mac` parameter (any case) is
 * normalized to lowercase colon form, and dropped when it is not a MAC address.
 */
export function labelsFromQuery(query: URLSearchParams): Labels {
  const labels: Labels = {};
  for (const key of new Set(query.keys())) {
    const value = query.get(key) ?? "";
    if (key.toLowerCase() === "mac") {
      const mac = normalizeMac(value);
      if (mac !== undefined) labels[key] = mac;
    } else {
      labels[key] = value;
    }
  }
  return labels;
}

/** The selector as sorted `key=value` pairs joined by ",": the tie-breaker between equally specific groups. */
export function selectorString(selector: Labels): string {
  return Object.entries(selector)
    .map(([key, value]) => `${key}=${value}`)
    .sort(compareBytes)
    .join(",");
}

/**
 * Most selectors first; among equals, the reverse byte order of the selector strings (Matchbox
 * sorts ascending by both, then reverses the whole list).
 */
export function sortGroups<G extends Selectable>(groups: readonly G[]): G[] {
  const keyed = groups.map((group) => ({
    group,
    count: Object.keys(group.selector).length,
    text: selectorString(group.selector),
  }));
  keyed.sort((a, b) => b.count - a.count || compareBytes(b.text, a.text));
  return keyed.map((entry) => entry.group);
}

/** The first of the sorted groups whose selectors all match; extra labels do not matter. */
export function selectGroup<G extends Selectable>(sorted: readonly G[], labels: Labels): G | undefined {
  return sorted.find((group) =>
    Object.entries(group.selector).every(([key, value]) => Object.hasOwn(labels, key) && labels[key] === value),
  );
}

/** Go compares strings by their UTF-8 bytes; JavaScript by UTF-16 units. They differ beyond the BMP. */
function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
