import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import type { ClusterManifest } from "../../src/manifest/defaults.js";
import { validateManifestText } from "../../src/manifest/validate.js";
import { planCluster } from "../../src/plan/plan.js";
import { example } from "../helpers/cli.js";

async function manifestOf(name: string, edit: (text: string) => string = (t) => t): Promise<ClusterManifest> {
  const result = validateManifestText(edit(await readFile(example(name), "utf8")), name, {});
  assert.ok(result.manifest, JSON.stringify(result.diagnostics));
  return result.manifest;
}

test("RKE2 HA: the first server is primary, servers join one at a time, then agents", async () => {
  const plan = planCluster(await manifestOf("rke2-ha.yaml"));
  assert.deepEqual(plan.joinOrder, {
    primary: "k8s-server-01",
    servers: ["k8s-server-02", "k8s-server-03"],
    agents: ["k8s-agent-01", "k8s-agent-02"],
  });
  assert.equal(plan.clusterFqdn, "edge-cluster.edge.lan");
  assert.equal(plan.joinUrl, "https://edge-cluster.edge.lan:19345");
  assert.equal(plan.apiUrl, "https://edge-cluster.edge.lan:16443");
  assert.deepEqual(
    plan.hosts.map((h) => h.fqdn),
    [
      "k8s-server-01.edge.lan",
      "k8s-server-02.edge.lan",
      "k8s-server-03.edge.lan",
      "k8s-agent-01.edge.lan",
      "k8s-agent-02.edge.lan",
    ],
  );
  assert.deepEqual(
    plan.loadBalancer.listeners.map((l) => [l.name, l.port, l.backends.map((b) => `${b.address}:${b.port}`)]),
    [
      ["api", 16443, ["10.77.0.11:6443", "10.77.0.12:6443", "10.77.0.13:6443"]],
      ["join", 19345, ["10.77.0.11:9345", "10.77.0.12:9345", "10.77.0.13:9345"]],
    ],
  );
  assert.deepEqual(plan.registry.endpoints, [
    "https://k8s-server-01.edge.lan:5000",
    "https://k8s-server-02.edge.lan:5000",
    "https://k8s-server-03.edge.lan:5000",
  ]);
});

test("an explicit primary wins over order, and a recorded primary wins over the manifest", async () => {
  const manifest = await manifestOf("rke2-ha.yaml", (t) =>
    t.replace(
      "{ name: k8s-server-03, address: 10.77.0.13, role: server,",
      "{ name: k8s-server-03, address: 10.77.0.13, role: server, primary: true,",
    ),
  );
  assert.equal(planCluster(manifest).joinOrder.primary, "k8s-server-03");
  assert.deepEqual(planCluster(manifest).joinOrder.servers, ["k8s-server-01", "k8s-server-02"]);
  assert.equal(planCluster(manifest, { initializedPrimary: "k8s-server-02" }).joinOrder.primary, "k8s-server-02");
  // A recorded primary that is no longer a server in the manifest is ignored.
  assert.equal(planCluster(manifest, { initializedPrimary: "k8s-agent-01" }).joinOrder.primary, "k8s-server-03");
});

test("K3s: supervisor and API share 6443 behind the two LB ports", async () => {
  const plan = planCluster(await manifestOf("k3s-single.yaml"));
  assert.deepEqual(
    plan.loadBalancer.listeners.map((l) => [l.port, l.backendPort]),
    [
      [16443, 6443],
      [19345, 6443],
    ],
  );
  assert.deepEqual(plan.joinOrder, { primary: "k3s-01", servers: [], agents: [] });
});

test("DNS records become absolute, and the default allowed networks are the site's and loopback", async () => {
  const plan = planCluster(
    await manifestOf("rke2-ha.yaml", (t) =>
      t.replace(
        "      - { name: git, type: A, value: 10.77.0.30 }",
        '      - { name: git, type: A, value: 10.77.0.30 }\n      - { name: _ldap._tcp, type: SRV, value: "10 5 389 ldap" }\n      - { name: ntp.example.org., type: A, value: 10.77.0.31, ttl: 60 }\n      - { name: "@", type: TXT, value: "site edge" }',
      ),
    ),
  );
  assert.deepEqual(plan.dns.records, [
    { name: "git.edge.lan", type: "A", value: "10.77.0.30", ttl: 300 },
    { name: "_ldap._tcp.edge.lan", type: "SRV", value: "10 5 389 ldap.edge.lan", ttl: 300 },
    { name: "ntp.example.org", type: "A", value: "10.77.0.31", ttl: 60 },
    { name: "edge.lan", type: "TXT", value: "site edge", ttl: 300 },
    { name: "*.apps.edge.lan", type: "CNAME", value: "edge-cluster.edge.lan", ttl: 300 },
  ]);
  assert.deepEqual(plan.dns.allowedNetworks, ["10.77.0.0/24", "127.0.0.0/8", "::1/128"]);
  assert.deepEqual(plan.dns.upstreams, [{ address: "10.77.0.53", port: 53 }]);
});

test("each host receives its distro files, the node unit, and the registry unit where a replica runs", async () => {
  const plan = planCluster(
    await manifestOf("rke2-ha.yaml", (t) => t.replace("  registry:\n", "  registry:\n    hosts: [k8s-server-02]\n")),
  );
  assert.deepEqual(plan.registry.hosts, ["k8s-server-02"]);
  const paths = (host: string) => plan.files[host]!.map((f) => `${f.mode.toString(8)} ${f.path}`);
  assert.deepEqual(paths("k8s-server-01"), [
    "600 /etc/rancher/rke2/config.yaml",
    "600 /etc/rancher/rke2/registries.yaml",
    "644 /etc/airstrap/plan.json",
    "644 /etc/systemd/system/airstrap-node.service",
  ]);
  assert.ok(paths("k8s-server-02").includes("644 /etc/systemd/system/airstrap-registry.service"));
});

test("the plan is a pure function: same input, same output, and no secret in it", async () => {
  const manifest = await manifestOf("rke2-ha.yaml");
  assert.equal(JSON.stringify(planCluster(manifest)), JSON.stringify(planCluster(structuredClone(manifest))));
  assert.doesNotMatch(JSON.stringify(planCluster(manifest)), /token/i);
});

test("with a bootstrap address, the plan names where install serves files and the seed registry", async () => {
  const plan = planCluster(await manifestOf("rke2-ha.yaml"));
  assert.ok(plan.bootstrapAddress, "the example names its bootstrap machine");
  assert.deepEqual(plan.bootstrap, {
    address: plan.bootstrapAddress,
    filesUrl: `http://${plan.bootstrapAddress}:8078`,
    registryUrl: `https://${plan.bootstrapAddress}:${plan.registry.port}`,
    relay: true,
  });
  const moved = planCluster(
    await manifestOf("rke2-ha.yaml", (text) =>
      text.replace(/^( {4}address: 10\.77\.0\.1)$/m, "$1\n    filesPort: 9090\n    relay: false"),
    ),
  );
  assert.equal(moved.bootstrap?.filesUrl, `http://${plan.bootstrapAddress}:9090`);
  assert.equal(moved.bootstrap?.relay, false);
  const none = planCluster(
    await manifestOf("rke2-ha.yaml", (text) => text.replace(/^ {2}bootstrap:\n {4}address: .*\n/m, "")),
  );
  assert.equal(none.bootstrap, undefined);
});

test("PXE: every host with a mac boots, with its role, profile, Ignition file and the URLs it fetches", async () => {
  const plan = planCluster(await manifestOf("pxe-rke2.yaml"));
  assert.ok(plan.pxe);
  assert.equal(plan.pxe.bootUrl, "http://10.77.0.1:8080");
  assert.deepEqual(
    plan.pxe.hosts.map((h) => [h.name, h.mac, h.role, h.profile, h.ignitionFile, h.network]),
    [
      ["k8s-server-01", "52:54:00:77:00:11", "primary-server", "k8s-server-01", "k8s-server-01.ign", "static"],
      ["k8s-server-02", "52:54:00:77:00:12", "server", "k8s-server-02", "k8s-server-02.ign", "static"],
      ["k8s-server-03", "52:54:00:77:00:13", "server", "k8s-server-03", "k8s-server-03.ign", "static"],
      ["k8s-agent-01", "52:54:00:77:00:21", "agent", "k8s-agent-01", "k8s-agent-01.ign", "static"],
      ["k8s-agent-02", "52:54:00:77:00:22", "agent", "k8s-agent-02", "k8s-agent-02.ign", "static"],
    ],
  );
  const flatcar = "http://10.77.0.1:8080/assets/flatcar/stable/amd64-usr/3975.2.2";
  assert.deepEqual(plan.pxe.hosts[3]!.urls, {
    kernel: `${flatcar}/flatcar_production_pxe.vmlinuz`,
    // airstrap's own initrd comes after the OS's: it reports a boot stuck in the initramfs.
    initrd: [
      `${flatcar}/flatcar_production_pxe_image.cpio.gz`,
      "http://10.77.0.1:8080/assets/airstrap/initrd-report.cpio",
    ],
    ignition: "http://10.77.0.1:8080/ignition?mac=52-54-00-77-00-21",
    executable: "http://10.77.0.1:8080/assets/airstrap/airstrap-linux-amd64",
    plan: "http://10.77.0.1:8080/assets/airstrap/plan.json",
    report: "http://10.77.0.1:8080/report?mac=52-54-00-77-00-21",
  });
});

test("PXE: hosts without a mac are left to SSH; dhcp: full means DHCP on the host; a custom OS fetches its own files", async () => {
  const plan = planCluster(
    await manifestOf("pxe-rke2.yaml", (t) =>
      t
        .replace(', mac: "52:54:00:77:00:12"', "")
        .replace("dhcp: proxy", "dhcp: full")
        .replace("address: 10.77.0.1 ", "address: 10.77.0.1\n    filesPort: 8078 ")
        .replace(
          /os:\n {8}name: flatcar\n {8}channel: stable\n {8}version: 3975.2.2\n/,
          "os: { kernel: debian/vmlinuz, initrd: [debian/initrd.img], rootImage: debian/live.squashfs }\n      address: 10.77.0.2\n      httpPort: 8081\n",
        )
        .replace("      httpPort: 8080\n", ""),
    ),
  );
  assert.ok(plan.pxe);
  assert.equal(plan.pxe.address, "10.77.0.2", "pxe.address wins over the bootstrap address");
  assert.deepEqual(
    plan.pxe.hosts.map((h) => h.name),
    ["k8s-server-01", "k8s-server-03", "k8s-agent-01", "k8s-agent-02"],
  );
  assert.ok(plan.pxe.hosts.every((h) => h.network === "dhcp"));
  assert.deepEqual(plan.pxe.hosts[0]!.urls.initrd, [
    "http://10.77.0.2:8081/assets/debian/initrd.img",
    "http://10.77.0.2:8081/assets/airstrap/initrd-report.cpio",
  ]);
  assert.equal(plan.pxe.hosts[0]!.urls.rootImage, "http://10.77.0.2:8081/assets/debian/live.squashfs");
  assert.equal(planCluster(await manifestOf("rke2-ha.yaml")).pxe, undefined);
});
