import { parse } from "yaml";
import { OperatorError } from "../errors.js";
import { registerSecret } from "../secrets.js";

/** What an HTTPS client needs from a kubeconfig's current context. */
export interface KubeCredentials {
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
  insecure: boolean;
}

interface Kubeconfig {
  "current-context"?: string;
  clusters?: Array<{
    name: string;
    cluster: { server: string; "certificate-authority-data"?: string; "insecure-skip-tls-verify"?: boolean };
  }>;
  users?: Array<{
    name: string;
    user: { "client-certificate-data"?: string; "client-key-data"?: string; token?: string };
  }>;
  contexts?: Array<{ name: string; context: { cluster: string; user: string } }>;
}

/** Pure: the current context's server and credentials (inline data only, as RKE2/K3s write them). */
export function credentialsFromKubeconfig(text: string, where: string): KubeCredentials {
  const config = parse(text) as Kubeconfig | null;
  const contextName = config?.["current-context"] ?? config?.contexts?.[0]?.name;
  const context = config?.contexts?.find((c) => c.name === contextName)?.context;
  const cluster = config?.clusters?.find((c) => c.name === context?.cluster)?.cluster;
  const user = config?.users?.find((u) => u.name === context?.user)?.user;
  if (!context || !cluster?.server)
    throw new OperatorError(`${where}: no usable current context`, { hint: "fetch it again with airstrap kubeconfig" });
  const decode = (data: string | undefined) => (data ? Buffer.from(data, "base64") : undefined);
  const ca = decode(cluster["certificate-authority-data"]);
  const cert = decode(user?.["client-certificate-data"]);
  const key = decode(user?.["client-key-data"]);
  registerSecret(user?.["client-key-data"]);
  registerSecret(key?.toString("utf8"));
  registerSecret(user?.token);
  return {
    server: cluster.server,
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(user?.token ? { token: user.token } : {}),
    insecure: cluster["insecure-skip-tls-verify"] === true,
  };
}
