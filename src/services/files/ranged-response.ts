import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { parseReadRange } from "../registry/range.js";

/**
 * The head of a file response that honours `Range` (one range, RFC 9110): status, length and
 * range headers set. Returns the inclusive byte span still to send, or undefined when the response
 * is already complete (416, HEAD, an empty file).
 */
export function beginRangedResponse(
  req: IncomingMessage,
  res: ServerResponse,
  size: number,
  contentType: string,
): { start: number; end: number } | undefined {
  const range = parseReadRange(req.headers.range, size);
  if (range.kind === "unsatisfiable") {
    res.statusCode = 416;
    res.setHeader("Content-Range", `bytes */${size}`);
    res.setHeader("Content-Type", "text/plain; charset=utf-8");
    res.end("");
    return undefined;
  }
  const [start, end] = range.kind === "part" ? [range.start, range.end] : [0, size - 1];
  res.statusCode = range.kind === "part" ? 206 : 200;
  res.setHeader("Accept-Ranges", "bytes");
  res.setHeader("Content-Type", contentType);
  res.setHeader("Content-Length", String(Math.max(0, end - start + 1)));
  if (range.kind === "part") res.setHeader("Content-Range", `bytes ${start}-${end}/${size}`);
  if (req.method === "HEAD" || size === 0) {
    res.end();
    return undefined;
  }
  return { start, end };
}

/** Streams a file on the disk (with Range); resolves with the bytes sent once the response is done. */
export async function sendFile(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  contentType: string,
): Promise<number> {
  const { size } = await stat(path);
  const span = beginRangedResponse(req, res, size, contentType);
  if (span === undefined) return 0;
  let sent = 0;
  const stream = createReadStream(path, { start: span.start, end: span.end, highWaterMark: 1024 * 1024 });
  stream.on("data", (chunk) => {
    sent += chunk.length;
  });
  await pipeline(stream, res);
  return sent;
}
