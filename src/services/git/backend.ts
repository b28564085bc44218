import { spawn } from "node:child_process";
import { mkdir, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { dirname, join } from "node:path";
import { readRefFiles } from "./refs.js";

/**
 * Every push is flushed to disk before git acknowledges it (objects and refs), and received
 * objects are checked: a killed server loses no acknowledged push and keeps no broken object.
 */
const DURABLE_CONFIG: Array<[string, string]> = [
  ["core.fsync", "all"],
  ["core.fsyncMethod", "fsync"],
  ["receive.fsckObjects", "true"],
  ["core.logAllRefUpdates", "true"],
];

const configEnv = (pairs: Array<[string, string]>) => ({
  GIT_CONFIG_COUNT: String(pairs.length),
  ...Object.fromEntries(
    pairs.flatMap(([key, value], i) => [
      [`GIT_CONFIG_KEY_${i}`, key],
      [`GIT_CONFIG_VALUE_${i}`, value],
    ]),
  ),
});

/** The durable settings as git's environment (GIT_CONFIG_COUNT …): what every served request runs with. */
export const durableGitEnv = () => configEnv(DURABLE_CONFIG);

export const repoPath = (root: string, repo: string) => join(root, repo);

export async function repoExists(root: string, repo: string): Promise<boolean> {
  return stat(join(repoPath(root, repo), "HEAD")).then(
    () => true,
    () => false,
  );
}

/** A new bare repository whose HEAD is main (what `airstrap gitops bootstrap` pushes). */
export async function initRepo(git: string, root: string, repo: string): Promise<void> {
  const path = repoPath(root, repo);
  await mkdir(dirname(path), { recursive: true });
  await run(git, ["init", "--quiet", "--bare", "--initial-branch=main", path], {});
}

/** Refs and the objects they name, as `for-each-ref` lists them (read from the files when git keeps them in files). */
export async function listRefs(git: string, root: string, repo: string): Promise<Map<string, string>> {
  const fromFiles = await readRefFiles(repoPath(root, repo));
  if (fromFiles !== undefined) return fromFiles;
  const output = await run(git, ["for-each-ref", "--format=%(objectname) %(refname)"], {
    GIT_DIR: repoPath(root, repo),
  });
  return new Map(
    output
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [object = "", ref = ""] = line.split(" ");
        return [ref, object];
      }),
  );
}

/**
 * Before a push too large for one buffer, git sends a probe: a receive-pack POST whose body is a
 * single flush packet ("0000"), to learn whether the credentials hold before it streams the pack.
 * `git http-backend` answers it with these headers and an empty body (receive-pack reads no
 * command and exits); the server answers it the same way without starting git.
 */
export const PUSH_PROBE_BODY = "0000";
export const PUSH_PROBE_ANSWER_HEADERS = {
  Expires: "Fri, 01 Jan 1980 00:00:00 GMT",
  Pragma: "no-cache",
  "Cache-Control": "no-cache, max-age=0, must-revalidate",
  "Content-Type": "application/x-git-receive-pack-result",
};

/**
 * Runs `git http-backend` as a CGI program for one request and streams its answer back; `body`,
 * when the caller read the request body already, is what the program gets instead.
 */
export function runHttpBackend(
  git: string,
  root: string,
  request: IncomingMessage,
  response: ServerResponse,
  remoteUser: string,
  body?: Buffer,
): Promise<number> {
  const url = new URL(request.url ?? "/", "http://git.invalid");
  const header = (name: string) => request.headers[name] as string | undefined;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: "1",
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    REQUEST_METHOD: request.method ?? "GET",
    REMOTE_USER: remoteUser,
    REMOTE_ADDR: request.socket.remoteAddress ?? "",
    ...(header("content-type") ? { CONTENT_TYPE: header("content-type") } : {}),
    ...(header("content-length") ? { CONTENT_LENGTH: header("content-length") } : {}),
    ...(header("content-encoding") ? { HTTP_CONTENT_ENCODING: header("content-encoding") } : {}),
    ...(header("git-protocol")
      ? { GIT_PROTOCOL: header("git-protocol"), HTTP_GIT_PROTOCOL: header("git-protocol") }
      : {}),
    ...durableGitEnv(),
  };
  const child = spawn(git, ["http-backend"], { env, stdio: ["pipe", "pipe", "pipe"] });
  if (body === undefined) request.pipe(child.stdin);
  else child.stdin.end(body);
  child.stdin.on("error", () => {});
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    if (stderr.length < 4096) stderr += chunk.toString();
  });
  let head = Buffer.alloc(0);
  let streaming = false;
  child.stdout.on("data", (chunk: Buffer) => {
    if (streaming) {
      if (!response.write(chunk)) child.stdout.pause();
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf("\r\n\r\n") >= 0 ? head.indexOf("\r\n\r\n") : head.indexOf("\n\n");
    if (end < 0) return;
    const separator = head.indexOf("\r\n\r\n") === end ? 4 : 2;
    const { status, headers } = cgiHeaders(head.subarray(0, end).toString("latin1"));
    response.writeHead(status, headers);
    streaming = true;
    const rest = head.subarray(end + separator);
    if (rest.length > 0) response.write(rest);
  });
  response.on("drain", () => child.stdout.resume());
  response.on("close", () => {
    if (child.exitCode === null) child.kill("SIGTERM");
  });
  return new Promise((resolve) => {
    child.on("close", (code) => {
      if (!streaming && !response.headersSent) {
        response.writeHead(500, { "content-type": "text/plain" });
        response.end(`git http-backend failed: ${stderr.split("\n")[0] ?? ""}\n`);
      } else response.end();
      resolve(code ?? 1);
    });
    child.on("error", () => resolve(127));
  });
}

/** CGI response headers: `Status: 404 Not Found` becomes the status, the rest are passed on. */
export function cgiHeaders(text: string): { status: number; headers: Record<string, string> } {
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === "status") status = Number.parseInt(value, 10) || 500;
    else headers[name] = value;
  }
  return { status, headers };
}

function run(command: string, args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { PATH: process.env.PATH, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let errText = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      errText += c.toString();
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${command} ${args[0]}: ${errText.trim() || `exit ${code}`}`)),
    );
  });
}
