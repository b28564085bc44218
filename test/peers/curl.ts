import { execFile } from "node:child_process";

/** curl (Debian curl) as the HTTP client under test: one request, its status, headers and body bytes. */

export interface CurlResult {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  text: string;
}

/**
 * Runs `curl -sS --path-as-is -D - URL …extra`: headers then body on stdout, URLs sent exactly as
 * written (no ".." folding), no retries. Extra arguments go before the URL (e.g. ["-r", "0-9"]).
 */
export function curl(url: string, extra: string[] = []): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    execFile(
      "curl",
      // -I prints the head itself; -D - as well would print it twice.
      ["-sS", "--path-as-is", "--max-time", "30", ...(extra.includes("-I") ? [] : ["-D", "-"]), ...extra, url],
      { encoding: "buffer", maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`curl ${url} failed: ${stderr.toString() || error.message}`));
          return;
        }
        resolve(parseResponse(stdout));
      },
    );
  });
}

function parseResponse(output: Buffer): CurlResult {
  let rest = output;
  for (;;) {
    const end = rest.indexOf("\r\n\r\n");
    if (end === -1) throw new Error(`curl printed no HTTP head: ${output.toString().slice(0, 200)}`);
    const head = rest.subarray(0, end).toString("latin1").split("\r\n");
    rest = rest.subarray(end + 4);
    const status = Number(head[0]?.split(" ")[1]);
    if (status >= 100 && status < 200) continue;
    const headers: Record<string, string> = {};
    for (const line of head.slice(1)) {
      const colon = line.indexOf(":");
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    return { status, headers, body: rest, text: rest.toString("utf8") };
  }
}
