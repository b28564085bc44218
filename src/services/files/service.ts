import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Events } from "../../events.js";
import { type Network, parseNetwork, unmapIPv4 } from "../../net/ip.js";
import type { RunningService } from "../service.js";
import { clientAllowed } from "./allowed.js";
import type { FileServerConfig, ServedFile } from "./config.js";
import { FileStalled, followFile } from "./follow-file.js";
import { beginRangedResponse } from "./ranged-response.js";
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
  let failures = 0;

  /** A request the server failed (a 500, or a read that broke mid-transfer): the operator should know. */
  function failed(req: IncomingMessage, error: Error): void {
    failures += 1;
    events.emit({
      level: "error",
      kind: "files.error",
      service: "files",
      message: `${req.method} ${req.url} from ${unmapIPv4(req.socket.remoteAddress ?? "")} failed: ${error.message}`,
      detail: { code: (error as NodeJS.ErrnoException).code },
    });
  }

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
    const span = beginRangedResponse(req, res, size, "application/octet-stream");
    if (span === undefined) return;
    const { start, end } = span;
    const stream = await firstBytesRead(
      file.arriving
        ? followFile({ path: file.path, ...file.arriving }, start, end, { stallMs, pollMs: 25 })
        : createReadStream(file.path, { start, end, highWaterMark: 1024 * 1024 })[Symbol.asyncIterator](),
    );
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
      // A relayed file that never started arriving here: 404, which curl does not retry, so the
      // host goes straight on to the bootstrap machine.
      if (error instanceof FileStalled && !res.headersSent) return reply(res, 404, `${error.message}\n`);
      // A host that hangs up mid-transfer resumes with a Range request; nothing to do here.
      if (!clientWentAway(error, res)) failed(req, error);
      if (!res.headersSent) {
        // The headers promised the file (its length, its range): none of that holds for the error.
        for (const name of res.getHeaderNames()) res.removeHeader(name);
        reply(res, 500, `${error.message}\n`);
      } else res.destroy();
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
        "# HELP airstrap_files_errors_total Requests the server failed: answered 500, or cut by a read error.",
        "# TYPE airstrap_files_errors_total counter",
        `airstrap_files_errors_total ${failures}`,
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

/** The client closed its connection (resumed later with a Range request): not the server's failure. */
function clientWentAway(error: Error, res: ServerResponse): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return (
    res.socket === null ||
    res.socket.destroyed ||
    code === "ERR_STREAM_PREMATURE_CLOSE" ||
    code === "ECONNRESET" ||
    code === "EPIPE"
  );
}

function indexFiles(files: ServedFile[]): Map<string, ServedFile> {
  return new Map(files.map((file) => [file.sha256, file]));
}

/**
 * The file's bytes as a stream that has its first bytes before the response starts: a read that
 * fails at once (the path is a directory, the file went away) is answered 500 rather than a cut
 * connection, and a relayed file that never arrives is answered 404 (FileStalled).
 */
async function firstBytesRead(chunks: AsyncIterator<Buffer>): Promise<Readable> {
  const first = await chunks.next();
  return Readable.from(
    (async function* () {
      try {
        if (first.done) return;
        yield first.value;
        for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
      } finally {
        // A client that hung up: the file is closed now, not when the collector finds it.
        await chunks.return?.();
      }
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
