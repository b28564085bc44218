import { MAX_BLOCK_BYTES } from "./wire.js";

/**
 * Option negotiation (RFC 2347) for a read request, pure: blksize (RFC 2348), tsize and timeout
 * (RFC 2349), windowsize (RFC 7440). Unknown or unreadable options are left out of the OACK, as
 * RFC 2347 lets a server do; the client then uses the RFC 1350 defaults for them.
 */

export const DEFAULT_BLKSIZE = 512;
const MIN_BLKSIZE = 8;
const MAX_WINDOWSIZE = 65535;

export interface Limits {
  maxBlksize: number;
  maxWindowsize: number;
  timeoutMs: number;
}

export interface Negotiated {
  blksize: number;
  windowsize: number;
  timeoutMs: number;
  /** What goes into the OACK; empty = no OACK, DATA block 1 answers the request. */
  accepted: Map<string, string>;
}

export function negotiate(requested: Map<string, string>, fileSize: number, limits: Limits): Negotiated {
  const accepted = new Map<string, string>();
  let blksize = DEFAULT_BLKSIZE;
  let windowsize = 1;
  let timeoutMs = limits.timeoutMs;
  const blksizeAsked = whole(requested.get("blksize"));
  if (blksizeAsked !== undefined && blksizeAsked >= MIN_BLKSIZE) {
    blksize = Math.min(blksizeAsked, limits.maxBlksize, MAX_BLOCK_BYTES);
    accepted.set("blksize", String(blksize));
  }
  // RFC 2349: a client asks with "0" and learns the size; in a read request any value is a question.
  if (whole(requested.get("tsize")) !== undefined) accepted.set("tsize", String(fileSize));
  const timeoutAsked = whole(requested.get("timeout"));
  if (timeoutAsked !== undefined && timeoutAsked >= 1 && timeoutAsked <= 255) {
    timeoutMs = timeoutAsked * 1000;
    accepted.set("timeout", String(timeoutAsked));
  }
  const windowAsked = whole(requested.get("windowsize"));
  if (windowAsked !== undefined && windowAsked >= 1) {
    windowsize = Math.min(windowAsked, limits.maxWindowsize, MAX_WINDOWSIZE);
    accepted.set("windowsize", String(windowsize));
  }
  return { blksize, windowsize, timeoutMs, accepted };
}

/** Decimal digits only (no sign, no exponent, no spaces); huge values stay huge and are clamped by the caller. */
function whole(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,20}$/.test(text)) return undefined;
  return Number(text);
}
