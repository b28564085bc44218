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
  for (const name of ["rke2-ha.yaml", "k3s-single.yaml", "pxe-rke2.yaml"]) {
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
    "15:38 host k8s-agent-01 address 10.42.0.9 lies inside podCIDR 10.42.0.0/16",
    "15:38 host k8s-agent-01 boots over PXE (it has a mac), but its address 10.42.0.9 is outside the provisioning subnet 10.77.0.0/24",
    "16:38 host k8s-agent-02 boots over PXE (it has a mac), but its address 10.88.0.22 is outside the provisioning subnet 10.77.0.0/24",
    "18:14 loadBalancer.apiPort 6443 collides with a port the Kubernetes servers bind on every node",
  ]);
});

test("PXE: addresses outside the subnet, a pool without dhcp: full, a mixed OS, a busy port, a missing templates folder", async () => {
  assert.deepEqual(await errorsOf("invalid/pxe.yaml"), [
    "13:38 host k8s-agent-01 boots over PXE (it has a mac), but its address 10.78.0.21 is outside the provisioning subnet 10.77.0.0/24",
    "18:7 boot HTTP port 8080 is also registry.port on the bootstrap machine",
    "19:16 the boot services' address 10.76.0.1 is outside the provisioning subnet 10.77.0.0/24",
    "21:16 the gateway 10.78.0.254 is outside the provisioning subnet 10.77.0.0/24",
    "23:13 a dynamic pool needs dhcp: full (with dhcp: proxy the site's DHCP server hands out addresses)",
    '24:24 must be "3.3.0" or "3.4.0", got "3.5.0"',
    "25:18 templates folder ./no-such-templates does not exist (" + example("invalid/no-such-templates") + ")",
    "26:40 os mixes Flatcar (version) with a kernel + initrd (kernel)",
  ]);
});

test("PXE: a kernel without initrd, store names, kernel arguments, a pool over a host; 3.4.0 for a custom OS warns", async () => {
  const result = await checkManifestFile(example("invalid/pxe-os.yaml"), {});
  assert.deepEqual(
    result.diagnostics.map((d) => `${d.severity} ${d.line}:${d.column} ${d.path} ${d.message}`),
    [
      "error 13:38 spec.hosts[1].address host address 10.77.0.150 lies inside the dynamic pool 10.77.0.100-10.77.0.200",
      "warning 20:24 spec.provisioning.pxe.ignitionVersion Debian's ignition 2.14 rejects spec 3.4.0 (it knows only 3.4.0-experimental)",
      "error 21:11 spec.provisioning.pxe.os missing initrd: booting an OS of your own needs a kernel and its initrd",
      'error 21:21 spec.provisioning.pxe.os.kernel must be a file in the artifact store, like debian/vmlinuz (no leading /, no ..), got "/boot/vmlinuz"',
      'error 21:43 spec.provisioning.pxe.os.args[0] one kernel argument per item, without spaces, got "console=ttyS0 quiet"',
    ],
  );
});

test("PXE: no address to listen on, Flatcar without a version, a backwards pool, no host with a mac", () => {
  const text = `apiVersion: airstrap.io/v1alpha1
kind: Cluster
metadata: { name: x }
spec:
  domain: x.lan
  distro: { name: k3s, version: v1.30.2+k3s1 }
  hosts: [{ name: a, address: 10.0.0.10, role: server }]
  provisioning:
    pxe:
      interface: eth1
      subnet: 10.0.0.0/24
      dhcp: full
      pool: { start: 10.0.0.90, end: 10.0.0.80 }
      os: { channel: beta }
`;
  const result = validateManifestText(text, "x.yaml", {});
  assert.deepEqual(
    result.diagnostics.map((d) => `${d.severity} ${d.line}:${d.column} ${d.message}`),
    [
      "warning 7:10 provisioning.pxe is set but no host has a mac: no host boots over PXE",
      "error 10:7 the PXE boot services need an address to listen on",
      "error 13:38 pool end 10.0.0.80 comes before its start 10.0.0.90",
      "error 14:11 missing version: which Flatcar release to boot",
    ],
  );
  const fixed = validateManifestText(
    text
      .replace("10.0.0.90", "10.0.0.80")
      .replace("10.0.0.80 }", "10.0.0.90 }")
      .replace("{ channel: beta }", "{ channel: beta, version: 4012.1.0 }")
      .replace("role: server }", 'role: server, mac: "52:54:00:00:00:0A" }')
      .replace("      dhcp: full", "      address: 10.0.0.1\n      dhcp: full"),
    "x.yaml",
    {},
  );
  assert.ok(fixed.manifest, JSON.stringify(fixed.diagnostics));
  assert.deepEqual(fixed.manifest.pxe, {
    interface: "eth1",
    address: "10.0.0.1",
    subnet: "10.0.0.0/24",
    dhcp: "full",
    pool: { start: "10.0.0.80", end: "10.0.0.90" },
    httpPort: 8080,
    ignitionVersion: "3.3.0",
    os: { kind: "flatcar", channel: "beta", version: "4012.1.0", args: [] },
  });
  assert.equal(fixed.manifest.hosts[0]!.mac, "52:54:00:00:00:0a");
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

test("the init template's commented PXE block, uncommented, is valid", async () => {
  const { MANIFEST_TEMPLATE } = await import("../../src/manifest/template.js");
  const block = MANIFEST_TEMPLATE.slice(MANIFEST_TEMPLATE.indexOf("  # provisioning:"));
  assert.ok(block.length > 0);
  const uncommented = block.replace(/^ {2}# {0,2}/gm, "  ").replace(/^ {4}( *)/gm, "    $1");
  const text = MANIFEST_TEMPLATE.replace(block, uncommented);
  const result = validateManifestText(text, "cluster.yaml", {});
  assert.ok(result.manifest?.pxe, JSON.stringify(result.diagnostics));
  assert.equal(result.manifest.pxe.os.kind, "flatcar");
  assert.deepEqual(
    result.diagnostics.map((d) => d.message),
    ["provisioning.pxe is set but no host has a mac: no host boots over PXE"],
  );
});
