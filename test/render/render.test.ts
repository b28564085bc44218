import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { parse } from "yaml";
import { validateManifestText } from "../../src/manifest/validate.js";
import { AIRSTRAP_PATHS } from "../../src/plan/distro-paths.js";
import { planCluster } from "../../src/plan/plan.js";
import { supportsDisablingDefaultRegistryEndpoint } from "../../src/render/distro-config.js";
import { renderHostFiles } from "../../src/render/host-files.js";
import { example } from "../helpers/cli.js";
import { verifyUnits } from "../peers/systemd-analyze.js";

const TOKEN = "0123456789abcdef".repeat(4);

async function planOf(name: string, edit: (t: string) => string = (t) => t) {
  const result = validateManifestText(edit(await readFile(example(name), "utf8")), name, {});
  assert.ok(result.manifest, JSON.stringify(result.diagnostics));
  return planCluster(result.manifest);
}

const configOf = (files: ReturnType<typeof renderHostFiles>, host: string) =>
  parse(files.get(host)!.find((f) => f.kind === "distro-config")!.content) as Record<string, unknown>;

test("RKE2: each role's config.yaml has exactly the keys that role needs", async () => {
  const plan = await planOf("rke2-ha.yaml");
  const files = renderHostFiles(plan, { token: TOKEN });
  const primary = configOf(files, "k8s-server-01");
  assert.deepEqual(Object.keys(primary), [
    "token",
    "tls-san",
    "cluster-cidr",
    "service-cidr",
    "node-name",
    "node-ip",
    "disable-default-registry-endpoint",
  ]);
  assert.deepEqual(primary["tls-san"], [
    "edge-cluster.edge.lan",
    "k8s-server-01.edge.lan",
    "k8s-server-01",
    "10.77.0.11",
  ]);
  const joining = configOf(files, "k8s-server-02");
  assert.deepEqual(Object.keys(joining), [
    "server",
    "token",
    "tls-san",
    "cluster-cidr",
    "service-cidr",
    "node-name",
    "node-ip",
    "disable-default-registry-endpoint",
  ]);
  assert.equal(joining.server, "https://edge-cluster.edge.lan:19345");
  const agent = configOf(files, "k8s-agent-02");
  assert.deepEqual(agent, {
    server: "https://edge-cluster.edge.lan:19345",
    token: TOKEN,
    "node-name": "k8s-agent-02",
    "node-ip": "10.77.0.22",
    "node-label": ["zone=b"],
    "node-taint": ["dedicated=gpu:NoSchedule"],
    "disable-default-registry-endpoint": true,
  });
});

test("K3s: the primary starts embedded etcd with cluster-init", async () => {
  const files = renderHostFiles(await planOf("k3s-single.yaml"), { token: TOKEN });
  const config = configOf(files, "k3s-01");
  assert.equal(config["cluster-init"], true);
  assert.equal(config.server, undefined);
  assert.equal(files.get("k3s-01")![0]!.path, "/etc/rancher/k3s/config.yaml");
});

test("registries.yaml mirrors every upstream to every replica, trusting the site CA", async () => {
  const files = renderHostFiles(await planOf("rke2-ha.yaml"), { token: TOKEN });
  const registries = parse(files.get("k8s-agent-01")!.find((f) => f.kind === "registries")!.content);
  const endpoints = [
    "https://k8s-server-01.edge.lan:5000",
    "https://k8s-server-02.edge.lan:5000",
    "https://k8s-server-03.edge.lan:5000",
  ];
  assert.deepEqual(
    registries.mirrors,
    Object.fromEntries(["docker.io", "quay.io", "ghcr.io", "registry.k8s.io"].map((m) => [m, { endpoint: endpoints }])),
  );
  assert.deepEqual(registries.configs["k8s-server-02.edge.lan:5000"], { tls: { ca_file: AIRSTRAP_PATHS.siteCa } });
});

test("each registry replica serves TLS with its own certificate, needs the push token, and copies from the others", async () => {
  const files = renderHostFiles(await planOf("rke2-ha.yaml"), { token: TOKEN });
  const unit = files.get("k8s-server-02")!.find((f) => f.kind === "registry-unit")!.content;
  const exec = unit.split("\n").find((line) => line.startsWith("ExecStart="))!;
  assert.match(exec, /--listen 0\.0\.0\.0:5000 /, "every address: the host's own FQDN may resolve to 127.0.1.1");
  assert.match(
    exec,
    /--tls-cert \/etc\/airstrap\/registry\/server\.crt --tls-key \/etc\/airstrap\/registry\/server\.key/,
  );
  assert.match(exec, /--token-file \/etc\/airstrap\/registry\/push-token/);
  assert.match(exec, /--allow-pull-from 10\.77\.0\.0\/24/);
  assert.match(
    exec,
    /--peer https:\/\/k8s-server-01\.edge\.lan:5000 --peer https:\/\/k8s-server-03\.edge\.lan:5000 --trust-ca \/etc\/airstrap\/site-ca\.crt/,
  );
  assert.doesNotMatch(exec, /k8s-server-02\.edge\.lan/);
});

test("the default-endpoint switch is only written for releases that know it", () => {
  assert.equal(supportsDisablingDefaultRegistryEndpoint("v1.31.4+rke2r1"), true);
  assert.equal(supportsDisablingDefaultRegistryEndpoint("v1.28.6+k3s1"), true);
  assert.equal(supportsDisablingDefaultRegistryEndpoint("v1.28.5+k3s1"), false);
  assert.equal(supportsDisablingDefaultRegistryEndpoint("v1.25.16+rke2r1"), false);
});

test("rendering is deterministic", async () => {
  const plan = await planOf("rke2-ha.yaml");
  const first = JSON.stringify([...renderHostFiles(plan, { token: TOKEN })]);
  assert.equal(JSON.stringify([...renderHostFiles(await planOf("rke2-ha.yaml"), { token: TOKEN })]), first);
});

test("generated units pass systemd-analyze verify", async (t) => {
  const files = renderHostFiles(await planOf("rke2-ha.yaml"), { token: TOKEN });
  const units = Object.fromEntries(
    files
      .get("k8s-server-01")!
      .filter((f) => f.path.endsWith(".service"))
      .map((f) => [f.path.split("/").pop()!, f.content]),
  );
  assert.deepEqual(Object.keys(units).sort(), ["airstrap-node.service", "airstrap-registry.service"]);
  const result = await verifyUnits(units, [AIRSTRAP_PATHS.binary]);
  assert.ok(result.ok, result.output);
  assert.equal(result.output.trim(), "", "systemd-analyze printed warnings");
  // The check can fail: without the binary on the host the same units are rejected.
  const missing = await verifyUnits(units, []);
  assert.equal(missing.ok, false);
  assert.match(missing.output, /is not executable/);
  t.diagnostic("units verified against a scratch root with the host's own systemd units");
});
