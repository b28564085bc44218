import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Events } from "../../events.js";
import { type Network, parseNetwork, unmapIPv4 } from "../../net/ip.js";
import { parseReadRange } from "../registry/range.js";
import type { RunningService } from "../service.js";
import { clientAllowed } from "./allowed.js";
import type { FileServerConfig, ServedFile } from "./config.js";
import { type ArrivingFile, FileStalled, followFile } from "./follow-file.js";
import { listenFiles } from "./server.js";

/**
 * The install's fan-out source: plain HTTP, `GET /files/<sha256>` for exactly the files the install
 * carries (nothing else on the disk is reachable), Range for resumed transfers. Plain HTTP is
 * enough because every host checks the SHA-256 it was told over SSH before using a byte.
 */
export interface RunningFileServer extends RunningService<FileServerConfig> {}

export async function startFileServer(config: FileServerConfig, events: Events): Promise<RunningFileServer> {
  let files = indexFiles(config.files);
  let networks = parseNetworks(config.allowedNetworks);
  let onProgress = config.onProgress;
  // A relayed download that stops growing this long is abandoned: the receiver falls back to the bootstrap machine.
  const stallMs = config.stallMs ?? 15_000;
  let bytesServed = 0;
  let requests = 0;
  let refused = 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    requests += 1;
    if (!clientAllowed(req.socket.remoteAddress, networks)) {
      refused += 1;
      return reply(res, 403, "this address may not fetch from airstrap\n");
    }
    if (req.method !== "GET" && req.method !== "HEAD") return reply(res, 405, "GET or HEAD only\n");
    const url = new URL(req.url ?? "/", "http://files");
    if (url.pathname === "/healthz") return reply(res, 200, "ok\n");
    const match = /^\/files\/([0-9a-f]{64})$/.exec(url.pathname);
    const file = match ? files.get(match[1]!) : undefined;
    if (!file) return reply(res, 404, "no such file\n");
    const size = file.arriving ? file.arriving.size : (await stat(file.path)).size;
    const range = parseReadRange(req.headers.range, size);
    if (range.kind === "unsatisfiable") {
      res.setHeader("Content-Range", `bytes */${size}`);
      return reply(res, 416, "");
    }
    const [start, end] = range.kind === "part" ? [range.start, range.end] : [0, size - 1];
    res.statusCode = range.kind === "part" ? 206 : 200;
    res.setHeader("Accept-Ranges", "bytes");
    res.setHeader("Content-Type", "application/octet-stream");
    res.setHeader("Content-Length", String(Math.max(0, end - start + 1)));
    if (range.kind === "part") res.setHeader("Content-Range", `bytes ${start}-${end}/${size}`);
    if (req.method === "HEAD" || size === 0) {
      res.end();
      return;
    }
    const stream = file.arriving
      ? await arrivingStream({ path: file.path, ...file.arriving }, start, end, stallMs)
      : createReadStream(file.path, { start, end, highWaterMark: 1024 * 1024 });
    const client = unmapIPv4(req.socket.remoteAddress ?? "");
    const step = Math.max(1, Math.floor(size / 50));
    let sent = start;
    let reported = start;
    stream.on("data", (chunk: Buffer) => {
      bytesServed += chunk.length;
      sent += chunk.length;
      if (sent - reported >= step || sent === size) {
        reported = sent;
        onProgress?.({ client, sha256: match![1]!, sent, total: size });
      }
    });
    await pipeline(stream, res);
  }

  const server = await listenFiles(config, (req, res) => {
    handle(req, res).catch((error: Error) => {
      // A host that hangs up mid-transfer resumes with a Range request; nothing to do here.
      // A relayed file that never started arriving here: 404, which curl does not retry, so the
      // host goes straight on to the bootstrap machine.
      if (!res.headersSent) reply(res, error instanceof FileStalled ? 404 : 500, `${error.message}\n`);
      else res.destroy();
    });
  });
  const address = server.address;
  events.emit({ level: "debug", kind: "files.listen", service: "files", message: `serving files on ${address}` });

  return {
    addresses: [address],
    ready: Promise.resolve(),
    async reload(next) {
      files = indexFiles(next.files);
      networks = parseNetworks(next.allowedNetworks);
      onProgress = next.onProgress;
    },
    metrics: () =>
      [
        "# TYPE airstrap_files_requests_total counter",
        `airstrap_files_requests_total ${requests}`,
        "# TYPE airstrap_files_refused_total counter",
        `airstrap_files_refused_total ${refused}`,
        "# TYPE airstrap_files_bytes_served_total counter",
        `airstrap_files_bytes_served_total ${bytesServed}`,
        "",
      ].join("\n"),
    close: () => server.close(),
  };
}

function reply(res: ServerResponse, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.end(body);
}

function indexFiles(files: ServedFile[]): Map<string, ServedFile> {
  return new Map(files.map((file) => [file.sha256, file]));
}

/**
 * A file still arriving, as a stream that has its first bytes before the response starts: a file
 * that never arrives is answered 404 (FileStalled) rather than a cut connection.
 */
async function arrivingStream(file: ArrivingFile, start: number, end: number, stallMs: number): Promise<Readable> {
  const chunks = followFile(file, start, end, { stallMs, pollMs: 25 });
  const first = await chunks.next();
  return Readable.from(
    (async function* () {
      if (!first.done) yield first.value;
      yield* chunks;
    })(),
  );
}

function parseNetworks(texts: string[]): Network[] {
  return texts.map((text) => {
    const network = parseNetwork(text);
    if (!network) throw new Error(`file server: not a network: ${text}`);
    return network;
  });
}
