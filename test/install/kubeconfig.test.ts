import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "yaml";
import { rewriteKubeconfig } from "../../src/install/kubeconfig.js";

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
