import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join, normalize, sep } from "node:path";

/**
 * The lab's release mirror: plain HTTP over a folder, GET and HEAD with single byte ranges (so
 * interrupted pulls resume). Serves only what is under its root.
 */
export function startReleaseMirror(root: string, host: string, port: number): Promise<Server> {
  const base = normalize(root);
  const server = createServer((req, res) => {
    void (async () => {
      let path: string;
      try {
        path = decodeURIComponent(new URL(req.url ?? "/", "http://mirror").pathname);
      } catch {
        res.writeHead(400).end();
        return;
      }
      const file = normalize(join(base, path));
      if (!file.startsWith(base + sep) || (req.method !== "GET" && req.method !== "HEAD")) {
        res.writeHead(req.method === "GET" || req.method === "HEAD" ? 404 : 405).end();
        return;
      }
      const info = await stat(file).catch(() => undefined);
      if (!info?.isFile()) {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
        return;
      }
      const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? "");
      let start = 0;
      let end = info.size - 1;
      if (range && (range[1] || range[2])) {
        if (range[1]) {
          start = Number(range[1]);
          if (range[2]) end = Math.min(end, Number(range[2]));
        } else start = Math.max(0, info.size - Number(range[2]));
        if (start > end || start >= info.size) {
          res.writeHead(416, { "content-range": `bytes */${info.size}` }).end();
          return;
        }
      }
      const headers = {
        "content-type": "application/octet-stream",
        "content-length": String(end - start + 1),
        "accept-ranges": "bytes",
        "last-modified": info.mtime.toUTCString(),
        ...(range && (range[1] || range[2]) ? { "content-range": `bytes ${start}-${end}/${info.size}` } : {}),
      };
      res.writeHead(range && (range[1] || range[2]) ? 206 : 200, headers);
      if (req.method === "HEAD" || info.size === 0) res.end();
      else createReadStream(file, { start, end }).pipe(res);
    })().catch(() => res.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}
