import bcrypt from "bcryptjs";
import type { Events } from "../../events.js";
import { createCredentialCache } from "../credential-cache.js";
import type { RunningService } from "../service.js";
import type { GitConfig } from "./config.js";
import { createGitHandler, type GitCounters, listenGit } from "./server.js";

/**
 * The in-site git server Flux reads the site repository from: git smart HTTP (clone, fetch,
 * shallow fetch, push) served by `git http-backend`, with basic auth for pushes, read-only
 * tokens for the cluster, repositories created on first push, and a Flux Receiver webhook after
 * every push that changed refs.
 */
export type RunningGit = RunningService<GitConfig>;

export async function startGit(config: GitConfig, events: Events): Promise<RunningGit> {
  let current = config;
  const counters: GitCounters = { requests: 0, denied: 0, pushes: 0, webhookFailures: 0 };
  // bcrypt is slow on purpose and git sends the same credentials on every request of a push.
  const verified = createCredentialCache();
  const verifyUser = async (user: string, password: string) => {
    const hash = current.users.get(user);
    if (hash === undefined) return false;
    const credentials = `${user}:${password}`;
    if (verified.accepted(credentials, (name) => current.users.get(name))) return true;
    const ok = await bcrypt.compare(password, hash.replace(/^\$2y\$/, "$2b$"));
    if (ok) verified.remember(credentials, user, hash);
    return ok;
  };
  const handler = createGitHandler(() => current, verifyUser, counters, events);
  const listeners = await Promise.all(config.listen.map((endpoint) => listenGit(endpoint, handler)));
  events.emit({
    level: "info",
    kind: "git.start",
    service: "git",
    message: `git server listening on ${listeners.map((l) => l.address).join(", ")}, repositories in ${config.root}`,
  });
  let closed = false;
  return {
    addresses: listeners.map((l) => l.address),
    ready: Promise.resolve(),
    async reload(next) {
      current = { ...next, listen: current.listen };
    },
    metrics: () =>
      [
        "# TYPE airstrap_git_requests_total counter",
        `airstrap_git_requests_total ${counters.requests}`,
        "# TYPE airstrap_git_denied_total counter",
        `airstrap_git_denied_total ${counters.denied}`,
        "# TYPE airstrap_git_pushes_total counter",
        `airstrap_git_pushes_total ${counters.pushes}`,
        "# TYPE airstrap_git_webhook_failures_total counter",
        `airstrap_git_webhook_failures_total ${counters.webhookFailures}`,
        "",
      ].join("\n"),
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(
        listeners.map(
          (l) =>
            new Promise<void>((resolve) => {
              l.server.close(() => resolve());
              l.server.closeIdleConnections();
            }),
        ),
      );
    },
  };
}
