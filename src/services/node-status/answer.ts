/**
 * What the node's status listener answers, decided without sockets: two read-only paths, and
 * nothing for anyone outside the allowed networks. The bodies come from the running services.
 */
export interface StatusRequest {
  method: string;
  /** The request's path (the query is ignored). */
  path: string;
  /** Whether the client's address lies in an allowed network. */
  allowed: boolean;
}

export type StatusAnswer =
  | { kind: "health" }
  | { kind: "metrics" }
  | { kind: "refuse"; status: 403 | 404 | 405; text: string };

export function answerStatus(request: StatusRequest): StatusAnswer {
  if (!request.allowed) return { kind: "refuse", status: 403, text: "forbidden: not a client of this site\n" };
  if (request.method !== "GET" && request.method !== "HEAD")
    return { kind: "refuse", status: 405, text: "read-only: GET or HEAD\n" };
  if (request.path === "/healthz") return { kind: "health" };
  if (request.path === "/metrics") return { kind: "metrics" };
  return { kind: "refuse", status: 404, text: "not found: try /healthz or /metrics\n" };
}

/** The node's health as JSON: the DNS server serving, and the load balancer's report per listener and backend. */
export interface NodeHealth<LbReport extends { healthy: boolean }> {
  healthy: boolean;
  dns: { serving: boolean };
  lb: LbReport;
}

export function nodeHealth<LbReport extends { healthy: boolean }>(
  dnsServing: boolean,
  lb: LbReport,
): NodeHealth<LbReport> {
  return { healthy: dnsServing && lb.healthy, dns: { serving: dnsServing }, lb };
}
