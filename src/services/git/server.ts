import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Events } from "../../events.js";
import { type Endpoint, formatEndpoint } from "../../net/endpoint.js";
import { requestBuffer } from "../../net/http-client.js";
import { authenticate, classify } from "./access.js";
import {
  initRepo,
  listRefs,
  PUSH_PROBE_ANSWER_HEADERS,
  PUSH_PROBE_BODY,
  repoExists,
  runHttpBackend,
} from "./backend.js";
import type { GitConfig } from "./config.js";
import { refChanges, webhookRequest } from "./webhook.js";

export interface GitCounters {
  requests: number;
  denied: number;
  pushes: number;
  webhookFailures: number;
}

/** The request handler: access rules, then `git http-backend`, then the webhook after a push that changed refs. */
export function createGitHandler(
  config: () => GitConfig,
  verifyUser: (user: string, password: string) => Promise<boolean>,
  counters: GitCounters,
  events: Events,
) {
  const tell = (level: "info" | "warn", kind: string, message: string, detail?: Record<string, unknown>) =>
    events.emit({ level, kind, service: "git", message, ...(detail ? { detail } : {}) });
  // One push at a time per repository, so the refs compared before and after are this push's.
  const pushing = new Map<string, Promise<unknown>>();

  return async (request: IncomingMessage, response: ServerResponse) => {
    counters.requests += 1;
    const current = config();
    const what = classify(request.method ?? "GET", request.url ?? "/");
    if (what.kind === "invalid") return plain(response, 404, `${what.reason}\n`);
    const principal = await authenticate(request.headers.authorization, current.readTokens, verifyUser);
    if (!principal || (what.write && !principal.canWrite)) {
      counters.denied += 1;
      if (principal) return plain(response, 403, "this token may only read\n");
      response.setHeader("WWW-Authenticate", 'Basic realm="airstrap git"');
      return plain(response, 401, "authentication required\n");
    }
    if (!(await repoExists(current.root, what.repo))) {
      if (!what.write) return plain(response, 404, `no repository ${what.repo}\n`);
      await initRepo(current.git, current.root, what.repo);
      tell("info", "git.repo.created", `repository ${what.repo} created by ${principal.user}'s push`);
    }
    if (what.kind !== "receive-pack") {
      await runHttpBackend(current.git, current.root, request, response, principal.user);
      return;
    }
    let body: Buffer | undefined;
    if (request.headers["content-length"] === String(PUSH_PROBE_BODY.length)) {
      body = await readSmallBody(request);
      if (body.toString("latin1") === PUSH_PROBE_BODY) {
        response.writeHead(200, PUSH_PROBE_ANSWER_HEADERS);
        return void response.end();
      }
    }
    const previous = pushing.get(what.repo) ?? Promise.resolve();
    const mine = previous.then(async () => {
      const before = await listRefs(current.git, current.root, what.repo);
      await runHttpBackend(current.git, current.root, request, response, principal.user, body);
      const changes = refChanges(before, await listRefs(current.git, current.root, what.repo));
      if (changes.length === 0) return;
      counters.pushes += 1;
      tell("info", "git.push", `${principal.user} pushed ${changes.map((c) => c.ref).join(", ")} to ${what.repo}`);
      if (current.webhook) await callWebhook(current.webhook, what.repo, changes);
    });
    pushing.set(
      what.repo,
      mine.catch(() => {}),
    );
    await mine;
  };

  async function callWebhook(
    webhook: NonNullable<GitConfig["webhook"]>,
    repository: string,
    refs: ReturnType<typeof refChanges>,
  ) {
    const { body, headers } = webhookRequest(webhook.token, { repository, refs });
    try {
      const answer = await requestBuffer(webhook.url, {
        method: "POST",
        body,
        headers,
        idleTimeoutMs: 10_000,
        maxBodyBytes: 64 * 1024,
      });
      if (answer.status < 200 || answer.status > 299) throw new Error(`HTTP ${answer.status}`);
    } catch (error) {
      counters.webhookFailures += 1;
      tell("warn", "git.webhook.failed", `webhook ${webhook.url} failed: ${(error as Error).message}`);
    }
  }
}

/** A request body of a few bytes (its Content-Length said so), read whole. */
async function readSmallBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function plain(response: ServerResponse, status: number, text: string) {
  response.writeHead(status, { "content-type": "text/plain; charset=utf-8" });
  response.end(text);
}

/** One HTTP listener on an endpoint; port 0 picks a free one. */
export async function listenGit(
  endpoint: Endpoint,
  handler: (request: IncomingMessage, response: ServerResponse) => Promise<void>,
): Promise<{ server: Server; address: string }> {
  const server = createServer((request, response) => {
    handler(request, response).catch((error: Error) => {
      if (!response.headersSent) plain(response, 500, `${error.message}\n`);
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(endpoint.port, endpoint.address, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  return { server, address: formatEndpoint({ address: bound.address, port: bound.port } as Endpoint) };
}
