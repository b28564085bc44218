import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { OperatorError } from "../errors.js";
import type { KubeCredentials } from "../kube/kubeconfig-credentials.js";
import { registerSecret } from "../secrets.js";

/** Where Kubernetes mounts a pod's service account: its token, the cluster CA and its namespace. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The pod's own API credentials, as every in-cluster client finds them. */
export async function inClusterCredentials(
  env: Readonly<Record<string, string | undefined>>,
  dir = SERVICE_ACCOUNT_DIR,
): Promise<KubeCredentials> {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? "443";
  if (!host) {
    throw new OperatorError("KUBERNETES_SERVICE_HOST is not set: not running in a pod", {
      hint: "airstrap node agent runs in the DaemonSet that airstrap generate writes (in-cluster/)",
    });
  }
  const read = (name: string) =>
    readFile(join(dir, name)).catch(() => {
      throw new OperatorError(`${join(dir, name)}: cannot read the service account's ${name}`, {
        hint: "is automountServiceAccountToken off for the pod?",
      });
    });
  const token = (await read("token")).toString("utf8").trim();
  registerSecret(token);
  const server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  return { server, ca: await read("ca.crt"), token, insecure: false };
}
