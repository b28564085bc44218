import { Resolver } from "node:dns";
import type { IncomingMessage } from "node:http";
import type { LookupFunction } from "node:net";
import { type HttpRequestOptions, httpRequest, requestBuffer } from "../net/http-client.js";
import type { KubeCredentials } from "./kubeconfig-credentials.js";

export interface KubeResponse {
  status: number;
  body: string;
}

/**
 * The few calls airstrap makes to the Kubernetes API (readiness, nodes), over HTTPS with the
 * kubeconfig's own CA and client certificate (src/net/http-client.ts: connect and stall timeouts of
 * `timeoutMs`, answers capped at `maxBodyBytes`).
 */
export class KubeClient {
  private readonly lookup: LookupFunction | undefined;

  /**
   * `siteDns`: the nodes' own DNS servers ("addr:port"). The kubeconfig names the cluster FQDN,
   * which only they resolve (to a node, whose load balancer forwards to a healthy server), and the
   * machine airstrap runs on usually does not ask them.
   */
  constructor(
    private readonly credentials: KubeCredentials,
    private readonly timeoutMs = 5000,
    siteDns: string[] = [],
    /** The largest answer read (a node list of a big cluster is a few MiB). */
    private readonly maxBodyBytes = 64 * 1024 * 1024,
  ) {
    this.lookup = siteDns.length > 0 ? siteLookup(siteDns) : undefined;
  }

  get(path: string): Promise<KubeResponse> {
    return this.request("GET", path);
  }

  /** POST a JSON object (the node agent's Events). */
  post(path: string, body: unknown): Promise<KubeResponse> {
    return this.request("POST", path, JSON.stringify(body));
  }

  /** Server-side apply of one object (YAML or JSON is accepted as apply-patch+yaml), airstrap as field manager. */
  apply(path: string, object: unknown): Promise<KubeResponse> {
    const query = `${path.includes("?") ? "&" : "?"}fieldManager=airstrap&force=true`;
    return this.request("PATCH", `${path}${query}`, JSON.stringify(object), "application/apply-patch+yaml");
  }

  /** PUT a JSON object (the node agent's status). */
  put(path: string, body: unknown): Promise<KubeResponse> {
    return this.request("PUT", path, JSON.stringify(body));
  }

  /**
   * Opens a watch (`path` carries `watch=1`) and resolves with the streaming response. The stream
   * errors when no byte moves for `idleTimeoutMs`: bookmarks and the server's own timeoutSeconds
   * keep a healthy watch moving.
   */
  watch(path: string, idleTimeoutMs: number, signal: AbortSignal): Promise<IncomingMessage> {
    return httpRequest(new URL(path, this.credentials.server), {
      ...this.requestOptions("GET"),
      idleTimeoutMs,
      signal,
    });
  }

  private requestOptions(method: string, body?: string, contentType = "application/json"): HttpRequestOptions {
    const { ca, cert, key, token, insecure } = this.credentials;
    return {
      method,
      headers: {
        accept: "application/json",
        ...(body === undefined ? {} : { "content-type": contentType }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(body === undefined ? {} : { body }),
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      ...(insecure ? { insecure } : {}),
      ...(this.lookup ? { lookup: this.lookup } : {}),
      connectTimeoutMs: this.timeoutMs,
      idleTimeoutMs: this.timeoutMs,
    };
  }

  private async request(
    method: string,
    path: string,
    body?: string,
    contentType = "application/json",
  ): Promise<KubeResponse> {
    const url = new URL(path, this.credentials.server);
    const response = await requestBuffer(url, {
      ...this.requestOptions(method, body, contentType),
      maxBodyBytes: this.maxBodyBytes,
    });
    return { status: response.status, body: response.body.toString("utf8") };
  }

  async getJson<T>(path: string): Promise<T> {
    const response = await this.get(path);
    if (response.status !== 200) throw new Error(`GET ${path}: HTTP ${response.status} ${response.body.slice(0, 200)}`);
    return JSON.parse(response.body) as T;
  }
}

/** Resolves names (IPv4 first) through the given DNS servers only. */
function siteLookup(servers: string[]): LookupFunction {
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers(servers);
  return (hostname, options, callback) => {
    const all = typeof options === "object" && options.all === true;
    resolver.resolve4(hostname, (error4, v4) => {
      const answer = (addresses: string[], family: 4 | 6) => {
        if (all)
          (callback as (e: null, a: Array<{ address: string; family: number }>) => void)(
            null,
            addresses.map((address) => ({ address, family })),
          );
        else callback(null, addresses[0]!, family);
      };
      if (!error4 && v4.length > 0) return answer(v4, 4);
      resolver.resolve6(hostname, (error6, v6) => {
        if (!error6 && v6.length > 0) return answer(v6, 6);
        callback(error4 ?? error6, "", 0);
      });
    });
  };
}

export interface NodeStatus {
  name: string;
  ready: boolean;
  roles: string[];
  version?: string;
}

/** Pure: the Ready condition and roles of every node in a NodeList. */
export function nodeStatuses(list: {
  items?: Array<{
    metadata?: { name?: string; labels?: Record<string, string> };
    status?: { conditions?: Array<{ type?: string; status?: string }>; nodeInfo?: { kubeletVersion?: string } };
  }>;
}): NodeStatus[] {
  return (list.items ?? []).map((item) => ({
    name: item.metadata?.name ?? "",
    ready: item.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
    roles: Object.keys(item.metadata?.labels ?? {})
      .filter((label) => label.startsWith("node-role.kubernetes.io/"))
      .map((label) => label.slice("node-role.kubernetes.io/".length)),
    ...(item.status?.nodeInfo?.kubeletVersion ? { version: item.status.nodeInfo.kubeletVersion } : {}),
  }));
}
