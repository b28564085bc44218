import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestContext } from "node:test";

/**
 * A release site on loopback laid out like GitHub's: /<owner>/<repo>/releases/download/<version
 * with + as %2B>/<file>, plus <base>/install.sh. Serves byte ranges, and can be told to cut a
 * transfer mid-file or to fail with 503, so pulls meet the faults real mirrors have.
 */
export interface MirrorRequest {
  rawPath: string;
  file: string;
  range?: string;
}

export interface ReleaseMirror {
  /** What artifacts.source is set to: the replacement for https://github.com/<owner>/<repo>/releases/download */
  source: string;
  requests: MirrorRequest[];
  files: Map<string, Buffer>;
  /** Next request for `file` sends `bytes` bytes of the body, then drops the connection. */
  cutAfter: Map<string, number>;
  /** Next N requests for `file` answer 503. */
  failures: Map<string, number>;
}

export function sumsFileFor(files: Record<string, Buffer>): Buffer {
  const lines = Object.entries(files).map(
    ([name, bytes]) => `${createHash("sha256").update(bytes).digest("hex")}  ${name}`,
  );
  return Buffer.from(`${lines.join("\n")}\n`);
}

export async function startReleaseMirror(
  t: TestContext,
  repo: string,
  version: string,
  files: Record<string, Buffer>,
): Promise<ReleaseMirror> {
  const prefix = `/${repo}/releases/download`;
  const mirror: Omit<ReleaseMirror, "source"> = {
    requests: [],
    files: new Map(Object.entries(files)),
    cutAfter: new Map(),
    failures: new Map(),
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const rawPath = req.url ?? "";
    const versionDir = `${prefix}/${encodeURIComponent(version)}/`;
    const file = rawPath.startsWith(versionDir)
      ? decodeURIComponent(rawPath.slice(versionDir.length))
      : rawPath === `${prefix}/install.sh`
        ? "install.sh"
        : undefined;
    mirror.requests.push({ rawPath, file: file ?? "", ...(req.headers.range ? { range: req.headers.range } : {}) });
    const body = file === undefined ? undefined : mirror.files.get(file);
    if (body === undefined) {
      res.writeHead(404).end("not found");
      return;
    }
    const failures = mirror.failures.get(file!) ?? 0;
    if (failures > 0) {
      mirror.failures.set(file!, failures - 1);
      res.writeHead(503).end("busy");
      return;
    }
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (range) {
      start = Number(range[1]);
      if (start >= body.length) {
        res.writeHead(416, { "content-range": `bytes */${body.length}` }).end();
        return;
      }
      res.writeHead(206, {
        "content-length": body.length - start,
        "content-range": `bytes ${start}-${body.length - 1}/${body.length}`,
      });
    } else {
      res.writeHead(200, { "content-length": body.length, "accept-ranges": "bytes" });
    }
    const cut = mirror.cutAfter.get(file!);
    if (cut !== undefined) {
      mirror.cutAfter.delete(file!);
      res.write(body.subarray(start, start + cut), () => res.socket?.destroy());
      return;
    }
    res.end(body.subarray(start));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  server.closeIdleConnections?.();
  const { port } = server.address() as AddressInfo;
  return { ...mirror, source: `http://127.0.0.1:${port}${prefix}` };
}
