import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { InvalidSourceError } from "../../src/manifest/invalid-source.js";
import { validateManifestText } from "../../src/manifest/validate.js";
import { AIRSTRAP_PATHS } from "../../src/plan/distro-paths.js";
import { planCluster } from "../../src/plan/plan.js";
import { builtInTemplate } from "../../src/render/pxe/builtin-templates.js";
import type { GeneratedFile } from "../../src/render/pxe/pxe-files.js";
import { FETCH_UNIT_NAME } from "../../src/render/units.js";
import { example } from "../helpers/cli.js";
import { verifyUnits } from "../peers/systemd-analyze.js";
import { CUSTOM_OS, INPUTS, pxePlan, renderAll } from "./pxe-fixtures.js";

const fileAt = (files: GeneratedFile[], path: string) => {
  const file = files.find((f) => f.path === path);
  assert.ok(file, `no ${path} in ${files.map((f) => f.path).join(", ")}`);
  return file;
};
const ignitionOf = (files: GeneratedFile[], host: string) =>
  JSON.parse(fileAt(files, `matchbox/ignition/${host}.ign`).content) as {
    ignition: { version: string };
    passwd: { users: Array<{ name: string; sshAuthorizedKeys: string[] }> };
    storage: { files: Array<{ path: string; mode: number; contents: { source: string } }> };
    systemd: { units: Array<{ name: string; enabled: boolean; contents?: string }> };
  };
const contentOf = (config: ReturnType<typeof ignitionOf>, path: string) => {
  const file = config.storage.files.find((f) => f.path === path);
  assert.ok(file, `no ${path}`);
  return decodeURIComponent(file.contents.source.replace(/^data:,/, ""));
};

test("the Matchbox folder: a profile, a group by MAC and an Ignition file per host, and the plan as an asset", async () => {
  const files = renderAll(await pxePlan());
  assert.deepEqual(
    files
      .map((f) => `${f.mode.toString(8)} ${f.path}`)
      .filter((p) => p.includes("k8s-server-01") || p.includes("assets")),
    [
      "644 matchbox/profiles/k8s-server-01.json",
      "644 matchbox/groups/k8s-server-01.json",
      "600 matchbox/ignition/k8s-server-01.ign",
      "644 matchbox/assets/airstrap/plan.json",
      "644 matchbox/assets/airstrap/initrd-report.cpio",
    ],
  );
  assert.equal(files.length, 5 * 3 + 2);
  const group = JSON.parse(fileAt(files, "matchbox/groups/k8s-agent-02.json").content);
  assert.deepEqual(group, {
    id: "k8s-agent-02",
    name: "k8s-agent-02 (agent)",
    profile: "k8s-agent-02",
    selector: { mac: "52:54:00:77:00:22" },
    metadata: {
      cluster: "edge",
      node_name: "k8s-agent-02",
      node_fqdn: "k8s-agent-02.edge.lan",
      node_ip: "10.77.0.22",
      node_role: "agent",
    },
  });
  const profile = JSON.parse(fileAt(files, "matchbox/profiles/k8s-server-01.json").content);
  const flatcar = "http://10.77.0.1:8080/assets/flatcar/stable/amd64-usr/3975.2.2";
  assert.deepEqual(profile, {
    id: "k8s-server-01",
    name: "primary server k8s-server-01",
    ignition_id: "k8s-server-01.ign",
    boot: {
      kernel: `${flatcar}/flatcar_production_pxe.vmlinuz`,
      initrd: [
        `${flatcar}/flatcar_production_pxe_image.cpio.gz`,
        "http://10.77.0.1:8080/assets/airstrap/initrd-report.cpio",
      ],
      args: [
        "initrd=flatcar_production_pxe_image.cpio.gz",
        "initrd=initrd-report.cpio",
        "ignition.config.url=http://10.77.0.1:8080/ignition?mac=${mac:hexhyp}",
        "airstrap.report=http://10.77.0.1:8080/report?mac=52-54-00-77-00-11",
        "flatcar.first_boot=1",
        "console=tty0",
        "console=ttyS0,115200n8",
      ],
    },
  });
});

test("an OS of one's own boots the lab's way: dracut live root over HTTP, then Debian's Ignition", async () => {
  const files = renderAll(await pxePlan(CUSTOM_OS));
  const profile = JSON.parse(fileAt(files, "matchbox/profiles/k8s-agent-01.json").content);
  assert.deepEqual(profile.boot, {
    kernel: "http://10.77.0.1:8080/assets/debian/vmlinuz",
    initrd: [
      "http://10.77.0.1:8080/assets/debian/initrd.img",
      "http://10.77.0.1:8080/assets/airstrap/initrd-report.cpio",
    ],
    args: [
      "initrd=initrd.img",
      "initrd=initrd-report.cpio",
      "root=live:http://10.77.0.1:8080/assets/debian/live.squashfs",
      "rd.live.image",
      "ip=dhcp",
      "rd.neednet=1",
      "ignition.firstboot",
      "ignition.platform.id=metal",
      "ignition.config.url=http://10.77.0.1:8080/ignition?mac=${mac:hexhyp}",
      "airstrap.report=http://10.77.0.1:8080/report?mac=52-54-00-77-00-21",
      "console=ttyS0",
    ],
  });
});

test("each role's Ignition config: hostname, network by MAC, the operator's key, the site CA, the distro's files, the node services", async () => {
  const files = renderAll(await pxePlan());
  const primary = ignitionOf(files, "k8s-server-01");
  assert.equal(primary.ignition.version, "3.3.0");
  assert.deepEqual(primary.passwd.users, [{ name: "core", sshAuthorizedKeys: [INPUTS.sshPublicKey] }]);
  assert.equal(contentOf(primary, "/etc/hostname"), "k8s-server-01\n");
  assert.equal(
    contentOf(primary, "/etc/systemd/network/00-airstrap.network"),
    "[Match]\nMACAddress=52:54:00:77:00:11\n\n[Network]\nAddress=10.77.0.11/24\nGateway=10.77.0.254\nDNS=10.77.0.11\nDomains=edge.lan\n",
  );
  assert.equal(contentOf(primary, AIRSTRAP_PATHS.siteCa), INPUTS.siteCa);
  assert.equal(contentOf(primary, "/etc/sudoers.d/airstrap"), "core ALL=(ALL) NOPASSWD: ALL\n");
  const hostKey = INPUTS.hostKeys["k8s-server-01"]!;
  assert.equal(contentOf(primary, "/etc/ssh/ssh_host_ed25519_key"), hostKey.private);
  assert.equal(contentOf(primary, "/etc/ssh/ssh_host_ed25519_key.pub"), `${hostKey.public} k8s-server-01\n`);
  const primaryConfig = contentOf(primary, "/etc/rancher/rke2/config.yaml");
  assert.match(primaryConfig, /^token: 0123456789abcdef/m);
  assert.doesNotMatch(primaryConfig, /^server:/m, "the primary initialises the cluster");
  assert.match(
    contentOf(ignitionOf(files, "k8s-server-02"), "/etc/rancher/rke2/config.yaml"),
    /^server: https:\/\/edge-cluster\.edge\.lan:19345$/m,
  );
  const agent = ignitionOf(files, "k8s-agent-01");
  assert.doesNotMatch(contentOf(agent, "/etc/rancher/rke2/config.yaml"), /tls-san/);
  assert.match(contentOf(agent, "/etc/rancher/rke2/registries.yaml"), /ca_file: \/etc\/airstrap\/site-ca\.crt/);
  assert.deepEqual(
    agent.storage.files.map((f) => `${f.mode.toString(8)} ${f.path}`),
    [
      "644 /etc/hostname",
      "644 /etc/systemd/network/00-airstrap.network",
      "600 /etc/ssh/ssh_host_ed25519_key",
      "644 /etc/ssh/ssh_host_ed25519_key.pub",
      "644 /etc/ssh/sshd_config.d/airstrap.conf",
      "440 /etc/sudoers.d/airstrap",
      "644 /etc/airstrap/site-ca.crt",
      "600 /etc/rancher/rke2/config.yaml",
      "600 /etc/rancher/rke2/registries.yaml",
      "755 /etc/airstrap/first-boot-report",
    ],
  );
  assert.deepEqual(
    agent.systemd.units.map((u) => [u.name, u.enabled]),
    [
      ["systemd-networkd.service", true],
      [FETCH_UNIT_NAME, true],
      ["airstrap-node.service", true],
      ["airstrap-report.service", true],
    ],
  );
  const fetch = agent.systemd.units[1]!.contents!;
  assert.match(fetch, /^Before=airstrap-node\.service$/m);
  assert.match(
    fetch,
    /-o \/etc\/airstrap\/plan\.json\.part http:\/\/10\.77\.0\.1:8080\/assets\/airstrap\/plan\.json$/m,
  );
  assert.match(fetch, new RegExp(`echo "${INPUTS.planSha256}  /etc/airstrap/plan.json.part"`));
  assert.match(fetch, new RegExp(`echo "${INPUTS.executableSha256}  /usr/local/bin/airstrap.part"`));
  assert.match(
    agent.systemd.units[2]!.contents!,
    /^ExecStart=\/usr\/local\/bin\/airstrap node --plan \/etc\/airstrap\/plan\.json --node k8s-agent-01$/m,
  );
});

test("dhcp: full: the address comes from the reservation; the client identifies itself by MAC", async () => {
  const files = renderAll(await pxePlan((t) => t.replace("dhcp: proxy", "dhcp: full")));
  assert.equal(
    contentOf(ignitionOf(files, "k8s-agent-01"), "/etc/systemd/network/00-airstrap.network"),
    "[Match]\nMACAddress=52:54:00:77:00:21\n\n[Network]\nDHCP=ipv4\n\n[DHCPv4]\nClientIdentifier=mac\n",
  );
});

test("the fetch unit and the node unit pass systemd-analyze verify", async (t) => {
  const agent = ignitionOf(renderAll(await pxePlan()), "k8s-agent-01");
  const units = Object.fromEntries(agent.systemd.units.filter((u) => u.contents).map((u) => [u.name, u.contents!]));
  const binaries = [
    "/usr/bin/curl",
    "/usr/bin/sh",
    "/usr/bin/sha256sum",
    "/usr/bin/chmod",
    "/usr/bin/mv",
    "/usr/bin/mkdir",
  ];
  const result = await verifyUnits(units, [...binaries, AIRSTRAP_PATHS.binary]);
  assert.ok(result.ok, result.output);
  assert.equal(result.output.trim(), "", "systemd-analyze printed warnings");
  const missing = await verifyUnits(units, [AIRSTRAP_PATHS.binary]);
  assert.equal(missing.ok, false, "without curl on the host the fetch unit is rejected");
  t.diagnostic("units verified against a scratch root with the host's own systemd units");
});

test("a template override changes exactly what it replaces: the agents' configs gain one file, nothing else moves", async () => {
  const plan = await pxePlan();
  const before = renderAll(plan);
  const agentTemplate = builtInTemplate("agent").replace(
    "storage:\n  files:\n",
    'storage:\n  files:\n    - path: /etc/modules-load.d/gpu.conf\n      mode: 0o644\n      contents: { inline: "nvidia\\n# {{ NODE_ROLE }} {{ NODE_NAME }}\\n" }\n',
  );
  const after = renderAll(
    plan,
    new Map([["agent.ign.yaml", { origin: "/site/templates/agent.ign.yaml", text: agentTemplate }]]),
  );
  const changed = after.filter((file, i) => file.content !== before[i]!.content).map((f) => f.path);
  assert.deepEqual(changed, ["matchbox/ignition/k8s-agent-01.ign", "matchbox/ignition/k8s-agent-02.ign"]);
  for (const host of ["k8s-agent-01", "k8s-agent-02"]) {
    const [old, now] = [ignitionOf(before, host), ignitionOf(after, host)];
    assert.deepEqual(now.storage.files.slice(1), old.storage.files);
    assert.deepEqual({ ...now, storage: {} }, { ...old, storage: {} });
    assert.equal(contentOf(now, "/etc/modules-load.d/gpu.conf"), `nvidia\n# agent ${host}\n`);
  }
  // A host's own template wins over its role's.
  const own = renderAll(
    plan,
    new Map([
      ["agent.ign.yaml", { origin: "/t/agent.ign.yaml", text: agentTemplate }],
      ["k8s-agent-02.ign.yaml", { origin: "/t/k8s-agent-02.ign.yaml", text: builtInTemplate("agent") }],
    ]),
  );
  assert.equal(
    fileAt(own, "matchbox/ignition/k8s-agent-02.ign").content,
    fileAt(before, "matchbox/ignition/k8s-agent-02.ign").content,
  );
  assert.notEqual(
    fileAt(own, "matchbox/ignition/k8s-agent-01.ign").content,
    fileAt(before, "matchbox/ignition/k8s-agent-01.ign").content,
  );
});

test("an override with an unknown variable names its file and line; one that replaces nothing is refused", async () => {
  const plan = await pxePlan();
  const text = builtInTemplate("server").replace('"{{ NODE_NAME }}\\n"', '"{{ NODE_HOSTNAME }}\\n"');
  const line = text.split("\n").findIndex((l) => l.includes("NODE_HOSTNAME")) + 1;
  assert.throws(
    () => renderAll(plan, new Map([["server.ign.yaml", { origin: "/site/templates/server.ign.yaml", text }]])),
    (error: unknown) => {
      assert.ok(error instanceof InvalidSourceError);
      assert.equal(error.file, "/site/templates/server.ign.yaml");
      assert.deepEqual(
        error.diagnostics.map((d) => `${d.file}:${d.line} ${d.message}`),
        [`/site/templates/server.ign.yaml:${line} unknown template variable NODE_HOSTNAME; did you mean NODE_NAME?`],
      );
      return true;
    },
  );
  assert.throws(
    () => renderAll(plan, new Map([["agnet.ign.yaml", { origin: "/t/agnet.ign.yaml", text }]])),
    /\/t\/agnet\.ign\.yaml: replaces no template; did you mean agent\.ign\.yaml\?/,
  );
});

test("rendering is deterministic, and a plan without PXE renders no Matchbox folder", async () => {
  assert.deepEqual(renderAll(await pxePlan()), renderAll(await pxePlan()));
  const result = validateManifestText(await readFile(example("rke2-ha.yaml"), "utf8"), "rke2-ha.yaml", {});
  assert.deepEqual(renderAll(planCluster(result.manifest!)), []);
});
