import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { test } from "node:test";
import type { TLSSocket } from "node:tls";
import { OperatorError } from "../../src/errors.js";
import { silentEvents } from "../../src/events.js";
import { KubeClient, nodeStatuses } from "../../src/kube/client.js";
import { credentialsFromKubeconfig } from "../../src/kube/kubeconfig-credentials.js";
import { waitForCluster } from "../../src/kube/wait.js";
import { validateManifestText } from "../../src/manifest/validate.js";
import { planCluster } from "../../src/plan/plan.js";
import { makeCertificates } from "../peers/tls-certs.js";

const node = (name: string, ready: boolean, role?: string) => ({
  metadata: { name, labels: role ? { [`node-role.kubernetes.io/${role}`]: "true" } : {} },
  status: {
    conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
    nodeInfo: { kubeletVersion: "v1.31.4+k3s1" },
  },
});

/** An HTTPS server that, like kube-apiserver under RKE2/K3s, refuses clients without a certificate from its CA. */
async function apiServer(t: { after(fn: () => void): void }, nodes: () => unknown[]) {
  const certs = makeCertificates(["127.0.0.1"]);
  t.after(() => certs.remove());
  const server: Server = createServer(
    {
      key: readFileSync(certs.keyFile),
      cert: readFileSync(certs.certFile),
      ca: readFileSync(certs.caFile),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      if (!peer?.subject) return void res.writeHead(401).end();
      if (req.url === "/readyz") return void res.end("ok");
      if (req.url === "/endless") return void endless(res);
      if (req.url === "/stall") return void res.writeHead(200).write("{");
      if (req.url === "/api/v1/nodes")
        return void res
          .setHeader("content-type", "application/json")
          .end(JSON.stringify({ kind: "NodeList", items: nodes() }));
      res.writeHead(404).end();
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const b64 = (file: string) => readFileSync(file).toString("base64");
  const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: edge
  cluster: { server: "https://127.0.0.1:${(server.address() as { port: number }).port}", certificate-authority-data: ${b64(certs.caFile)} }
users:
- name: edge
  user: { client-certificate-data: ${b64(certs.certFile)}, client-key-data: ${b64(certs.keyFile)} }
contexts:
- name: edge
  context: { cluster: edge, user: edge }
current-context: edge
`;
  return credentialsFromKubeconfig(kubeconfig, "test kubeconfig");
}

/** Writes 64 KiB chunks as fast as the client takes them until it goes away (at most 1 GiB). */
function endless(res: import("node:http").ServerResponse) {
  const chunk = Buffer.alloc(64 * 1024, "x");
  let sent = 0;
  const more = () => {
    while (!res.destroyed && sent < 1024 ** 3) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once("drain", more);
    }
    res.end();
  };
  res.writeHead(200, { "content-type": "application/json" });
  more();
}

async function plan() {
  const text =
    "apiVersion: airstrap.io/v1alpha1\nkind: Cluster\nmetadata: { name: edge }\nspec:\n  domain: edge.lan\n  distro: { name: k3s, version: v1.31.4+k3s1 }\n  hosts:\n    - { name: s1, address: 10.0.0.1, role: server }\n    - { name: a1, address: 10.0.0.2, role: agent }\n";
  return planCluster(validateManifestText(text, "x", {}).manifest!);
}

test("the client authenticates with the kubeconfig's certificate and verifies the server's", async (t) => {
  const credentials = await apiServer(t, () => [node("s1", true, "control-plane")]);
  const client = new KubeClient(credentials);
  assert.equal((await client.get("/readyz")).status, 200);
  assert.deepEqual(nodeStatuses(await client.getJson("/api/v1/nodes")), [
    { name: "s1", ready: true, roles: ["control-plane"], version: "v1.31.4+k3s1" },
  ]);
  const { cert: _cert, key: _key, ...anonymous } = credentials;
  await assert.rejects(new KubeClient(anonymous).get("/readyz"));
  const { ca: _ca, ...unverified } = credentials;
  await assert.rejects(new KubeClient(unverified).get("/readyz"), /self.signed|unable to verify|certificate/i);
});

test("wait returns once every planned host is a Ready node, and names the missing ones when it gives up", async (t) => {
  let polls = 0;
  const credentials = await apiServer(t, () => {
    polls++;
    return polls < 3 ? [node("s1", true)] : [node("s1", true), node("a1", polls >= 4)];
  });
  const nodes = await waitForCluster(new KubeClient(credentials), await plan(), silentEvents, {
    timeoutMs: 10_000,
    intervalMs: 20,
  });
  assert.deepEqual(
    nodes.map((n) => `${n.name}:${n.ready}`),
    ["s1:true", "a1:true"],
  );

  const stuck = await apiServer(t, () => [node("s1", true), node("a1", false)]);
  await assert.rejects(
    waitForCluster(new KubeClient(stuck), await plan(), silentEvents, { timeoutMs: 200, intervalMs: 20 }),
    /waiting for a1/,
  );
});

test("an endless answer is a clear error at the cap, not unbounded memory; a stalled one times out", async (t) => {
  const credentials = await apiServer(t, () => []);
  const capped = new KubeClient(credentials, 5000, [], 1024 * 1024);
  await assert.rejects(capped.get("/endless"), (error: unknown) => {
    assert.ok(error instanceof OperatorError);
    assert.match(error.message, /GET https:\/\/127\.0\.0\.1:\d+\/endless: body larger than 1048576 bytes/);
    return true;
  });
  await assert.rejects(new KubeClient(credentials, 300).get("/stall"), /\/stall: no data for 300 ms/);
});
