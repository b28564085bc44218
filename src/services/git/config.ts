import type { Endpoint } from "../../net/endpoint.js";

/** The in-site git server: smart HTTP in front of `git http-backend`, repositories under `root`. */
export interface GitConfig {
  listen: Endpoint[];
  /** Bare repositories live here as <name>.git (created on first push or by `airstrap git init`). */
  root: string;
  /** Who may push: user → bcrypt hash (htpasswd). */
  users: Map<string, string>;
  /** Read-only tokens (the cluster's): basic auth with any user name and the token as password. */
  readTokens: string[];
  /** Called after every push that changed refs (a Flux Receiver of type generic-hmac). */
  webhook?: { url: string; token: string };
  /** The git binary whose http-backend serves the protocol. */
  git: string;
}
