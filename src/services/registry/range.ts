/**
 * Byte ranges: the `Range` header of blob reads (RFC 9110 bytes=, one range) and the
 * `Content-Range` of chunked uploads (the distribution spec's bare `<start>-<end>`).
 */
export type ReadRange = { kind: "whole" } | { kind: "part"; start: number; end: number } | { kind: "unsatisfiable" };

/** Interprets a blob read's Range header against the blob's size; end is inclusive. */
export function parseReadRange(header: string | undefined, size: number): ReadRange {
  if (header === undefined) return { kind: "whole" };
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Multiple ranges or other units: serving the whole blob is what RFC 9110 allows.
  if (!match || (match[1] === "" && match[2] === "")) return { kind: "whole" };
  const [, first = "", last = ""] = match;
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "part", start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size || (last !== "" && Number(last) < start)) return { kind: "unsatisfiable" };
  return { kind: "part", start, end };
}

/** Parses an upload chunk's `Content-Range: <start>-<end>` (a leading "bytes " is tolerated). */
export function parseChunkRange(header: string): { start: number; end: number } | undefined {
  const match = /^(?:bytes[ =])?(\d+)-(\d+)$/.exec(header.trim());
  if (!match) return undefined;
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return undefined;
  return { start, end };
}

/** The `Range` header of an upload's progress: inclusive, and "0-0" when nothing arrived yet. */
export function uploadRangeHeader(offset: number): string {
  return `0-${Math.max(0, offset - 1)}`;
}
