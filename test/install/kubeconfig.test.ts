import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { parse } from "yaml";
import { rewriteKubeconfig, workstationKubeconfig, workstationUsage } from "../../src/install/kubeconfig.js";
import { validateManifestText } from "../../src/manifest/validate.js";
import { planCluster } from "../../src/plan/plan.js";
import { example } from "../helpers/cli.js";

// Shaped like /etc/rancher/rke2/rke2.yaml as RKE2 writes it.
const DISTRO_KUBECONFIG = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTi==
    server: https://127.0.0.1:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {}
users:
- name: default
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
`;

test("the kubeconfig points at the cluster FQDN through the LB and is named after the cluster", () => {
  const config = parse(rewriteKubeconfig(DISTRO_KUBECONFIG, "https://edge-cluster.edge.lan:16443", "edge"));
  assert.equal(config.clusters[0].cluster.server, "https://edge-cluster.edge.lan:16443");
  assert.equal(config.clusters[0].cluster["certificate-authority-data"], "LS0tLS1CRUdJTi==");
  assert.equal(config.clusters[0].name, "edge");
  assert.deepEqual(config.contexts[0], { context: { cluster: "edge", user: "edge" }, name: "edge" });
  assert.equal(config["current-context"], "edge");
  assert.equal(config.users[0].name, "edge");
  assert.equal(config.users[0].user["client-key-data"], "S0VZ");
});

test("a kubeconfig without clusters is an operator error, not a crash", () => {
  assert.throws(
    () => rewriteKubeconfig("apiVersion: v1\nkind: Config\n", "https://x:16443", "edge"),
    /no cluster entry/,
  );
});

test("the workstation kubeconfig has a cluster and a context per server, by address, TLS checked against the FQDN", async () => {
  const result = validateManifestText(await readFile(example("rke2-ha.yaml"), "utf8"), "x", {});
  const plan = planCluster(result.manifest!);
  const rewritten = rewriteKubeconfig(DISTRO_KUBECONFIG, plan.apiUrl, plan.name);
  const config = parse(workstationKubeconfig(rewritten, plan));
  const servers = plan.hosts.filter((h) => h.role === "server");
  const port = new URL(plan.apiUrl).port;
  assert.deepEqual(
    config.clusters.map((c: { name: string; cluster: Record<string, string> }) => [
      c.name,
      c.cluster.server,
      c.cluster["tls-server-name"],
      c.cluster["certificate-authority-data"],
    ]),
    servers.map((s) => [
      `${plan.name}@${s.name}`,
      `https://${s.address}:${port}`,
      plan.clusterFqdn,
      "LS0tLS1CRUdJTi==",
    ]),
  );
  assert.deepEqual(
    config.contexts.map((c: { name: string; context: Record<string, string> }) => [
      c.name,
      c.context.cluster,
      c.context.user,
    ]),
    servers.map((s) => [`${plan.name}@${s.name}`, `${plan.name}@${s.name}`, plan.name]),
  );
  assert.equal(config["current-context"], `${plan.name}@${servers.find((s) => s.primary)!.name}`);
  assert.equal(config.users[0].user["client-key-data"], "S0VZ");
  assert.match(workstationUsage(plan, "/x/kubeconfig-workstation"), /KUBECONFIG=\/x\/kubeconfig-workstation kubectl/);
});
