import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { checkManifestFile } from "../../src/manifest/load.js";
import { validateManifestText } from "../../src/manifest/validate.js";
import { example } from "../helpers/cli.js";

const errorsOf = async (name: string, env: Record<string, string> = {}) => {
  const result = await checkManifestFile(example(name), env);
  return result.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.line}:${d.column} ${d.message}`);
};

test("the shipped examples are valid", async () => {
  for (const name of ["rke2-ha.yaml", "k3s-single.yaml"]) {
    const result = await checkManifestFile(example(name), {});
    assert.ok(result.manifest, `${name}: ${JSON.stringify(result.diagnostics)}`);
    assert.deepEqual(
      result.diagnostics.filter((d) => d.severity === "error"),
      [],
    );
  }
});

test("unknown keys are each reported at the key, with a did-you-mean", async () => {
  assert.deepEqual(await errorsOf("invalid/unknown-keys.yaml"), [
    '7:3 unknown key "domian"; did you mean "domain"?',
    '10:5 unknown key "verison"; did you mean "version"?',
    '13:7 unknown key "adress"; did you mean "address"?',
  ]);
});

test("wrong types and malformed values are all reported with what was written", async () => {
  const errors = await errorsOf("invalid/wrong-types.yaml");
  assert.deepEqual(errors, [
    '5:9 must be a lower-case DNS label, like edge, got "Edge_Site"',
    '9:11 must be "rke2" or "k3s", got "rke3"',
    '10:14 must look like v1.31.4+rke2r1 (RKE2) or v1.31.4+k3s1 (K3s), got "1.31.4"',
    '11:11 must be "amd64" or "arm64", got "x86_64"',
    '13:11 must be a whole number, got "twenty-two"',
    '14:11 must be true or false, got "yes"',
    "16:5 no host has role: server",
    '17:16 must be an IPv4 or IPv6 address, got "10.77.0.300"',
    '18:13 must be "server" or "agent", got "master"',
    '19:12 must look like 52:54:00:12:34:56, got "52-54-00-00-00-11"',
    "21:14 must be at most 65535, got number 70000",
  ]);
});

test("duplicate names, addresses and MACs point at the second occurrence; even servers warn", async () => {
  const result = await checkManifestFile(example("invalid/duplicates.yaml"), {});
  const messages = result.diagnostics.map((d) => `${d.severity} ${d.line}:${d.column} ${d.message}`);
  assert.deepEqual(messages, [
    "warning 10:5 2 servers: an even number of etcd members tolerates no more failures than 1",
    'error 11:15 duplicate host name "k8s-server-01": spec.hosts[0] has it too',
    "error 11:74 more than one primary server (spec.hosts[0] is primary already)",
    'error 12:38 duplicate host address "10.77.0.11": spec.hosts[0] has it too',
    'error 12:68 duplicate host mac "52:54:00:00:00:11": spec.hosts[0] has it too',
  ]);
});

test("a cluster without servers, a primary agent and a version of the other distro", async () => {
  assert.deepEqual(await errorsOf("invalid/no-server.yaml"), [
    '8:33 "v1.31.4+rke2r1" is not a k3s version',
    "10:5 no host has role: server",
    "10:72 only a server can be primary",
  ]);
});

test("overlapping networks, hosts outside the PXE subnet and LB ports the servers own", async () => {
  assert.deepEqual(await errorsOf("invalid/networks.yaml"), [
    "12:18 serviceCIDR 10.42.128.0/17 overlaps podCIDR 10.42.0.0/16",
    "15:38 host k8s-agent-01 address 10.42.0.9 is outside the provisioning subnet 10.77.0.0/24",
    "15:38 host k8s-agent-01 address 10.42.0.9 lies inside podCIDR 10.42.0.0/16",
    "16:38 host k8s-agent-02 address 10.88.0.22 is outside the provisioning subnet 10.77.0.0/24",
    "18:14 loadBalancer.apiPort 6443 collides with a port the Kubernetes servers bind on every node",
  ]);
});

test("a missing identity file and an unset environment variable", async () => {
  const errors = await errorsOf("invalid/missing-identity.yaml");
  assert.equal(errors.length, 2);
  assert.equal(errors[0], "10:11 environment variable AIRSTRAP_EXAMPLE_UNSET_USER is not set");
  assert.match(errors[1]!, /^11:19 identity file \.\/keys\/does-not-exist does not exist/);
});

test("YAML syntax errors are reported with their position", async () => {
  const errors = await errorsOf("invalid/syntax.yaml");
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /^9:1 YAML: /);
});

test("${VAR} and ${VAR:-default} are substituted and typed like what was written", async () => {
  const text = (await readFile(example("k3s-single.yaml"), "utf8"))
    .replace("address: 192.168.50.10", () => "address: ${NODE_ADDRESS}")
    .replace(
      "spec:\n",
      () => "spec:\n  ssh: { user: '${SSH_USER:-admin}', port: ${SSH_PORT:-22}, sudo: ${SUDO:-false} }\n",
    )
    .replace("domain: lab.lan", () => "domain: $${LITERAL}.${DOMAIN:-lab.lan}");
  const result = validateManifestText(text, "x.yaml", {
    NODE_ADDRESS: "192.168.50.77",
    SSH_PORT: "2222",
    SUDO: "true",
  });
  // "$${" is a literal "${": not a valid domain, so exactly that one error remains, where it was written.
  assert.deepEqual(
    result.diagnostics.map((d) => `${d.line}:${d.column} ${d.path} ${d.message}`),
    ['8:11 spec.domain must be a lower-case DNS name, like edge.lan, got "${LITERAL}.lab.lan"'],
  );
  const fixed = validateManifestText(text.replace("$${LITERAL}.", ""), "x.yaml", {
    NODE_ADDRESS: "192.168.50.77",
    SSH_PORT: "2222",
    SUDO: "true",
  });
  assert.ok(fixed.manifest, JSON.stringify(fixed.diagnostics));
  assert.equal(fixed.manifest.hosts[0]!.address, "192.168.50.77");
  assert.deepEqual(fixed.manifest.ssh, { user: "admin", port: 2222, sudo: true });
});

test("positions after a substitution on the same line are those the operator wrote", () => {
  const text =
    "apiVersion: airstrap.io/v1alpha1\nkind: Cluster\nmetadata: { name: x }\nspec:\n  domain: x.lan\n  distro: { name: k3s, version: v1.30.2+k3s1 }\n  hosts: [{ name: ${N}, address: ${A}, role: agent }]\n  # ${UNSET_IN_COMMENT} is documentation\n";
  const result = validateManifestText(text, "x.yaml", { N: "a-much-longer-host-name", A: "10.0.0.1" });
  assert.deepEqual(
    result.diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`),
    ["7:10 no host has role: server"],
  );
  const bad = validateManifestText(text, "x.yaml", { N: "a", A: "not-an-address" });
  assert.ok(
    bad.diagnostics.some((d) => d.line === 7 && d.column === 34 && d.message.startsWith("must be an IPv4")),
    JSON.stringify(bad.diagnostics),
  );
});

test("defaults fill in what was left out fill in what was left out", () => {
  const result = validateManifestText(
    "apiVersion: airstrap.io/v1alpha1\nkind: Cluster\nmetadata: { name: x }\nspec:\n  domain: x.lan\n  distro: { name: k3s, version: v1.30.2+k3s1 }\n  hosts: [{ name: a, address: 10.0.0.1, role: server }]\n",
    "x.yaml",
    {},
  );
  assert.ok(result.manifest);
  assert.equal(result.manifest.clusterRecord, "x-cluster");
  assert.equal(result.manifest.distro.arch, "amd64");
  assert.deepEqual(result.manifest.loadBalancer, {
    apiPort: 16443,
    joinPort: 19345,
    apiBackendPort: 6443,
    joinBackendPort: 6443,
  });
  assert.deepEqual(result.manifest.network, { podCIDR: "10.42.0.0/16", serviceCIDR: "10.43.0.0/16" });
  assert.deepEqual(result.manifest.registry.mirrors, ["docker.io", "quay.io", "ghcr.io", "registry.k8s.io"]);
  assert.equal(result.manifest.hosts[0]!.primary, true);
});

test("connection: local — one host at most, no ssh settings on it, a known value — each at its line and column", () => {
  const text = `apiVersion: airstrap.io/v1alpha1
kind: Cluster
metadata: { name: here }
spec:
  domain: here.lan
  distro: { name: k3s, version: v1.31.4+k3s1 }
  hosts:
    - { name: one, address: 10.0.0.1, role: server, connection: local }
    - { name: two, address: 10.0.0.2, role: server, connection: local, ssh: { port: 2222 } }
    - { name: three, address: 10.0.0.3, role: server, connection: telnet }
`;
  const result = validateManifestText(text, "x.yaml", {});
  assert.deepEqual(
    result.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.line}:${d.column} ${d.message}`),
    [
      "9:65 more than one host with connection: local (spec.hosts[0] is the machine airstrap runs on already)",
      "9:77 a host with connection: local is not reached over SSH",
      '10:67 must be "ssh" or "local", got "telnet"',
    ],
  );
  const ok = validateManifestText(text.split("\n").slice(0, 8).join("\n"), "x.yaml", {});
  assert.equal(ok.manifest?.hosts[0]?.connection, "local");
  assert.equal(ok.manifest?.hosts[0]?.ssh.sudo, true, "as a user other than root, the local host needs sudo");
});
