import { readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { handleApi } from "../../src/lab/sim-distro/api.js";
import { ObjectStore } from "../../src/lab/sim-distro/store.js";
import { validateManifestText } from "../../src/manifest/validate.js";
import { planCluster } from "../../src/plan/plan.js";
import { renderPlanJson } from "../../src/render/host-files.js";
import { IN_CLUSTER_NAMESPACE, SITE_CONFIGMAP, SITE_MANIFEST_KEY } from "../../src/render/in-cluster/objects.js";
import { makeCertificates } from "../peers/tls-certs.js";

export const NAMESPACE = IN_CLUSTER_NAMESPACE;
type After = { after(fn: () => unknown): void };

export const planJsonOf = (text: string) => renderPlanJson(planCluster(validateManifestText(text, "x", {}).manifest!));

/** The example site with one more DNS record: wiki.edge.lan → 10.77.0.31. */
export function withWikiRecord(text: string): string {
  const git = "      - { name: git, type: A, value: 10.77.0.30 }";
  if (!text.includes(git)) throw new Error("the example changed: no git record to add after");
  return text.replace(git, `${git}\n      - { name: wiki, type: A, value: 10.77.0.31 }`);
}

/** The lab's simulated API server, over HTTPS on loopback, holding the ConfigMap the DaemonSet reads. */
export async function simulatedApi(t: After) {
  const certs = makeCertificates(["127.0.0.1"]);
  t.after(() => certs.remove());
  const store = new ObjectStore("s1");
  const ctx = { store, version: "v1.31.4+rke2r1", serverAddress: "127.0.0.1:6443", now: () => new Date() };
  const server = createServer(
    { cert: readFileSync(certs.certFile), key: readFileSync(certs.keyFile) },
    (request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const answer = handleApi(ctx, {
          method: request.method ?? "GET",
          path: request.url ?? "/",
          body: Buffer.concat(chunks).toString("utf8"),
          ...(request.headers["content-type"] ? { contentType: request.headers["content-type"] } : {}),
        });
        response.writeHead(answer.status, { "content-type": "application/json" });
        response.end(JSON.stringify(answer.body));
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  const call = (method: string, path: string, body?: unknown) =>
    handleApi(ctx, { method, path, body: body === undefined ? "" : JSON.stringify(body) });
  const setManifest = (text: string) =>
    call("PUT", `/api/v1/namespaces/${NAMESPACE}/configmaps/${SITE_CONFIGMAP}`, {
      metadata: { name: SITE_CONFIGMAP, namespace: NAMESPACE },
      data: { [SITE_MANIFEST_KEY]: text },
    });
  const eventReasons = () =>
    (call("GET", `/api/v1/namespaces/${NAMESPACE}/events`).body as { items: { reason: string; message: string }[] })
      .items;
  return { port: (server.address() as AddressInfo).port, caFile: certs.caFile, setManifest, eventReasons };
}

/** A folder with the pod's service account as Kubernetes mounts it (token, ca.crt, namespace). */
export async function serviceAccountDir(t: After, caFile: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "airstrap-sa-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await chmod(dir, 0o755);
  await mkdir(join(dir, "serviceaccount"), { mode: 0o755 });
  await writeFile(join(dir, "serviceaccount", "token"), "agent-token\n", { mode: 0o644 });
  await writeFile(join(dir, "serviceaccount", "ca.crt"), await readFile(caFile), { mode: 0o644 });
  await writeFile(join(dir, "serviceaccount", "namespace"), NAMESPACE, { mode: 0o644 });
  return join(dir, "serviceaccount");
}
