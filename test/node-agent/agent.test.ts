import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createEvents } from "../../src/events.js";
import { KubeClient } from "../../src/kube/client.js";
import { handleApi } from "../../src/lab/sim-distro/api.js";
import { ObjectStore } from "../../src/lab/sim-distro/store.js";
import { validateManifestText } from "../../src/manifest/validate.js";
import { startNodeAgent } from "../../src/node-agent/agent.js";
import { inClusterCredentials } from "../../src/node-agent/in-cluster-credentials.js";
import { planCluster } from "../../src/plan/plan.js";
import { renderPlanJson } from "../../src/render/host-files.js";
import { SITE_CONFIGMAP, SITE_MANIFEST_KEY } from "../../src/render/in-cluster/objects.js";
import { example } from "../helpers/cli.js";
import { makeCertificates } from "../peers/tls-certs.js";

const NAMESPACE = "airstrap-system";

/** The lab's simulated API server, over HTTPS on loopback, with the ConfigMap the DaemonSet reads. */
async function simulatedApi(t: { after(fn: () => unknown): void }) {
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

async function agentAgainst(t: { after(fn: () => unknown): void }, api: Awaited<ReturnType<typeof simulatedApi>>) {
  // The pod's service account, as Kubernetes mounts it.
  const dir = await mkdtemp(join(tmpdir(), "airstrap-agent-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const account = join(dir, "serviceaccount");
  await mkdir(account);
  await writeFile(join(account, "token"), "agent-token\n");
  await writeFile(join(account, "ca.crt"), await readFile(api.caFile));
  const credentials = await inClusterCredentials(
    { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(api.port) },
    account,
  );
  const hostPlanFile = join(dir, "plan.json");
  const agent = startNodeAgent(
    {
      namespace: NAMESPACE,
      configMap: SITE_CONFIGMAP,
      key: SITE_MANIFEST_KEY,
      nodeName: "k8s-agent-01",
      hostPlanFile,
      version: "9.9.9",
      intervalMs: 60_000,
    },
    new KubeClient(credentials),
    createEvents(),
  );
  t.after(() => agent.close());
  return { agent, hostPlanFile };
}

const planJsonOf = (text: string) => renderPlanJson(planCluster(validateManifestText(text, "x", {}).manifest!));

test("the agent writes the ConfigMap's site as the host's plan.json, follows changes, and reports each generation", async (t) => {
  const api = await simulatedApi(t);
  const text = await readFile(example("rke2-ha.yaml"), "utf8");
  api.setManifest(text);
  const { agent, hostPlanFile } = await agentAgainst(t, api);
  assert.equal(await agent.syncOnce(), "written");
  assert.equal(await readFile(hostPlanFile, "utf8"), planJsonOf(text));
  assert.equal(await agent.syncOnce(), "unchanged");

  // A new record reaches the file (the host service reloads on that change).
  const edited = text.replace(
    "      - { name: git, type: A, value: 10.77.0.30 }",
    "      - { name: git, type: A, value: 10.77.0.30 }\n      - { name: wiki, type: A, value: 10.77.0.31 }",
  );
  assert.notEqual(edited, text);
  api.setManifest(edited);
  assert.equal(await agent.syncOnce(), "written");
  const plan = JSON.parse(await readFile(hostPlanFile, "utf8"));
  assert.ok(JSON.stringify(plan.dns).includes("10.77.0.31"));
  const synced = api.eventReasons().filter((e) => e.reason === "Synced");
  assert.equal(synced.length, 2, "one Event per generation");
  assert.match(synced[0]!.message, /k8s-agent-01 serves generation [0-9a-f]{16} with airstrap 9\.9\.9/);
});

test("an invalid ConfigMap is refused and reported, and the node keeps its last good plan", async (t) => {
  const api = await simulatedApi(t);
  const text = await readFile(example("rke2-ha.yaml"), "utf8");
  api.setManifest(text);
  const { agent, hostPlanFile } = await agentAgainst(t, api);
  assert.equal(await agent.syncOnce(), "written");
  const good = await readFile(hostPlanFile, "utf8");

  api.setManifest(text.replace("role: agent", "role: captain"));
  assert.equal(await agent.syncOnce(), "refused");
  assert.equal(await readFile(hostPlanFile, "utf8"), good);
  const refused = api.eventReasons().find((e) => e.reason === "InvalidConfiguration");
  assert.match(refused?.message ?? "", /not a valid manifest.*role/);

  // A site without this node is refused too: the agent never empties what its node serves.
  api.setManifest(text.replaceAll("k8s-agent-01", "k8s-agent-09"));
  assert.equal(await agent.syncOnce(), "refused");
  assert.equal(await readFile(hostPlanFile, "utf8"), good);
});
