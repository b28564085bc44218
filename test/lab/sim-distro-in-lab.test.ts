import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { silentEvents } from "../../src/events.js";
import { labStart, labStop } from "../../src/lab/lab.js";
import { LAB_MIRROR_PORT } from "../../src/lab/mirror-helper.js";
import { writeSimRelease } from "../../src/lab/sim-distro/release.js";
import { buildSingleExecutable } from "../peers/airstrap-sea.js";
import { createTestLab, labSkipReason, type TestLabHost } from "./lab-fixture.js";

const skipReason = await labSkipReason();
const VERSION = "v1.31.4+rke2r1";
const CLUSTER_NAME = "cluster.test.lan";

/**
 * The simulated distro on lab hosts, installed the way the real one is: release files from the
 * lab's mirror, install.sh with INSTALL_RKE2_ARTIFACT_PATH and INSTALL_RKE2_TYPE, config.yaml,
 * systemctl enable --now rke2-server / rke2-agent, joining through a server: URL by name.
 */
describe("simulated distro on lab hosts", { skip: skipReason ?? false }, async () => {
  const site = await createTestLab({
    offset: 2,
    hosts: [
      { name: "srv-a", role: "server", octet: 11 },
      { name: "srv-b", role: "server", octet: 12 },
      { name: "agt-a", role: "agent", octet: 21 },
      { name: "k3s-a", role: "server", octet: 31 },
    ],
  });
  const [primary, secondary, agent, k3sHost] = site.hosts as [TestLabHost, TestLabHost, TestLabHost, TestLabHost];
  let sea: { path: string; remove(): void } | undefined;
  const k3sRelease = mkdtempSync(join(tmpdir(), "airstrap-k3s-release-"));

  const must = (host: TestLabHost, command: string) => {
    const result = site.ssh(host, command);
    assert.equal(result.code, 0, `${host.name}: ${command}\n${result.stdout}${result.stderr}`);
    return result.stdout;
  };

  /** Copies a local file to a host (mode 0755), as the install flow uploads files. */
  const upload = (host: TestLabHost, source: string, target: string) => {
    const copy = spawnSync(
      "sh",
      [
        "-c",
        `ssh -i "$1" -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$2" root@"$3" "mkdir -p "$(dirname $5)" && cat > $5 && chmod 0755 $5" < "$4"`,
        "copy",
        site.identity,
        site.knownHosts,
        host.address,
        source,
        target,
      ],
      { encoding: "utf8", timeout: 60_000 },
    );
    assert.equal(copy.status, 0, copy.stderr);
  };

  const installDistro = (host: TestLabHost, config: string) => {
    const base = `http://${site.bootstrapAddress}:${LAB_MIRROR_PORT}/rke2`;
    must(
      host,
      [
        "set -e",
        "mkdir -p /root/artifacts /etc/rancher/rke2",
        "cd /root/artifacts",
        `for f in sha256sum-amd64.txt rke2.linux-amd64.tar.gz rke2-images.linux-amd64.tar.zst; do curl -fsSO ${base}/v1.31.4%2Brke2r1/$f; done`,
        `curl -fsS -o /root/install.sh ${base}/install.sh`,
        `INSTALL_RKE2_ARTIFACT_PATH=/root/artifacts INSTALL_RKE2_TYPE=${host.role} sh /root/install.sh`,
        `printf '%s' '${config}' > /etc/rancher/rke2/config.yaml`,
      ].join("\n"),
    );
  };

  const waitFor = async (host: TestLabHost, command: string, what: string) => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const result = site.ssh(host, command);
      if (result.code === 0) return result.stdout;
      if (Date.now() > deadline)
        assert.fail(`${host.name}: ${what} did not happen within 120 s: ${result.stdout}${result.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  };

  const nodesSeenBy = (host: TestLabHost) =>
    must(
      host,
      `curl -fsS --cacert <(grep certificate-authority-data /etc/rancher/rke2/rke2.yaml | awk '{print $2}' | base64 -d) -H "Authorization: Bearer $(awk '/token:/ {print $2}' /etc/rancher/rke2/rke2.yaml)" https://127.0.0.1:6443/api/v1/nodes`,
    );

  before(async () => {
    // The hidden verb's own functions (lab-distro-entry.ts) packed as the single-file executable the
    // rke2/k3s wrappers run, so this test does not depend on every other verb bundling at this moment.
    sea = buildSingleExecutable("test/lab/lab-distro-entry.ts");
    await writeSimRelease(k3sRelease, {
      distro: "k3s",
      version: "v1.31.4+k3s1",
      arch: "amd64",
      mirrorBase: "http://unused.invalid/k3s",
    });
    await site.up();
    // The join URL names the cluster; each host's own resolver (/etc/hosts here) decides where that is.
    for (const host of site.hosts) {
      upload(host, sea.path, "/usr/local/bin/airstrap");
      must(host, `echo '${primary.address} ${CLUSTER_NAME}' >> /etc/hosts`);
    }
  });

  after(async () => {
    await site.remove();
    sea?.remove();
    rmSync(k3sRelease, { recursive: true, force: true });
  });

  test("install.sh lays the release out as RKE2's does", () => {
    installDistro(primary, `token: lab-secret\ntls-san: [${CLUSTER_NAME}]\n`);
    must(
      primary,
      "test -x /usr/local/bin/rke2 && test -f /usr/local/lib/systemd/system/rke2-server.service && test -f /usr/local/lib/systemd/system/rke2-agent.service",
    );
    must(
      primary,
      "test -f /var/lib/rancher/rke2/agent/images/rke2-images.linux-amd64.tar.zst && grep -q SIMULATION /usr/local/bin/rke2",
    );
  });

  test("the first server starts under systemd and writes node-token and kubeconfig where RKE2 does", async () => {
    must(primary, "systemctl enable --now rke2-server.service");
    const token = await waitFor(primary, "cat /var/lib/rancher/rke2/server/node-token", "node-token");
    assert.match(token.trim(), /^K10[0-9a-f]{64}::server:lab-secret$/);
    await waitFor(
      primary,
      "test -f /etc/rancher/rke2/rke2.yaml && curl -fsSk https://127.0.0.1:6443/readyz",
      "API ready",
    );
    assert.equal(
      must(primary, "stat -c %a /var/lib/rancher/rke2/server/node-token /etc/rancher/rke2/rke2.yaml").trim(),
      "600\n600",
    );
    const version = JSON.parse(must(primary, "curl -fsSk https://127.0.0.1:6443/version")) as { gitVersion: string };
    assert.equal(version.gitVersion, VERSION);
  });

  test("an agent with a wrong token is refused and does not become a node", async () => {
    installDistro(agent, `server: https://${CLUSTER_NAME}:9345\ntoken: not-the-token\n`);
    must(agent, "systemctl enable --now rke2-agent.service");
    await waitFor(
      agent,
      "journalctl -u rke2-agent --no-pager | grep -q 'refused this node'",
      "refusal in the agent's log",
    );
    const nodes = JSON.parse(nodesSeenBy(primary)) as { items: Array<{ metadata: { name: string } }> };
    assert.deepEqual(
      nodes.items.map((node) => node.metadata.name),
      [primary.name],
    );
  });

  test("a second server and the agent join through the server: URL by name; /api/v1/nodes lists exactly them, Ready", async () => {
    installDistro(secondary, `server: https://${CLUSTER_NAME}:9345\ntoken: lab-secret\n`);
    must(secondary, "systemctl enable --now rke2-server.service");
    must(
      agent,
      `printf 'server: https://${CLUSTER_NAME}:9345\\ntoken: lab-secret\\n' > /etc/rancher/rke2/config.yaml && systemctl restart rke2-agent.service`,
    );
    const expected = [agent.name, primary.name, secondary.name];
    for (const viewer of [primary, secondary]) {
      const deadline = Date.now() + 120_000;
      let names: string[] = [];
      let ready: string[] = [];
      while (Date.now() < deadline) {
        const text =
          site.ssh(viewer, `test -f /etc/rancher/rke2/rke2.yaml && echo ok`).code === 0
            ? nodesSeenBy(viewer)
            : '{"items":[]}';
        const nodes = JSON.parse(text) as {
          items: Array<{ metadata: { name: string }; status: { conditions: Array<{ status: string }> } }>;
        };
        names = nodes.items.map((node) => node.metadata.name);
        ready = nodes.items.map((node) => node.status.conditions[0]?.status ?? "");
        if (names.length === expected.length) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      assert.deepEqual(names, expected, `as ${viewer.name} sees it`);
      assert.deepEqual(ready, ["True", "True", "True"]);
    }
  });

  test("kubectl get nodes from this machine, with the kubeconfig the first server wrote", (t) => {
    if (spawnSync("kubectl", ["version", "--client"]).status !== 0) {
      t.skip("kubectl is not installed (Debian's kubernetes-client package provides it)");
      return;
    }
    const kubeconfig = join(k3sRelease, "rke2.yaml");
    writeFileSync(kubeconfig, must(primary, "cat /etc/rancher/rke2/rke2.yaml"), { mode: 0o600 });
    // The kubeconfig names 127.0.0.1 as the real one does; from outside, the server's own address.
    const result = spawnSync(
      "kubectl",
      ["--kubeconfig", kubeconfig, "--server", `https://${primary.address}:6443`, "get", "nodes", "--no-headers"],
      { encoding: "utf8", timeout: 60_000 },
    );
    assert.equal(result.status, 0, result.stderr);
    const rows = result.stdout
      .trim()
      .split("\n")
      .map((line) => line.split(/\s+/).slice(0, 2));
    assert.deepEqual(rows, [
      [agent.name, "Ready"],
      [primary.name, "Ready"],
      [secondary.name, "Ready"],
    ]);
  });

  test("with the first server stopped the second answers; restarted, the first catches up on what it missed", async () => {
    const api = (host: TestLabHost, method: string, path: string, body?: string) =>
      site.ssh(
        host,
        `curl -fsS -X ${method} --cacert <(grep certificate-authority-data /etc/rancher/rke2/rke2.yaml | awk '{print $2}' | base64 -d) -H "Authorization: Bearer $(awk '/token:/ {print $2}' /etc/rancher/rke2/rke2.yaml)" -H 'content-type: application/json' ${body ? `-d '${body}'` : ""} https://127.0.0.1:6443${path}`,
      );
    await labStop(site.state, primary.name, silentEvents);
    const created = api(
      secondary,
      "POST",
      "/api/v1/namespaces/kube-system/configmaps",
      '{"metadata":{"name":"while-down"},"data":{"a":"b"}}',
    );
    assert.equal(created.code, 0, created.stderr);
    const names = (JSON.parse(nodesSeenBy(secondary)) as { items: Array<{ metadata: { name: string } }> }).items.map(
      (node) => node.metadata.name,
    );
    assert.deepEqual(names, [agent.name, primary.name, secondary.name]);
    await labStart(site.state, primary.name, silentEvents);
    await waitFor(primary, "systemctl is-active rke2-server.service", "rke2-server back after the restart");
    const seen = await waitFor(
      primary,
      `curl -fsS --cacert <(grep certificate-authority-data /etc/rancher/rke2/rke2.yaml | awk '{print $2}' | base64 -d) -H "Authorization: Bearer $(awk '/token:/ {print $2}' /etc/rancher/rke2/rke2.yaml)" https://127.0.0.1:6443/api/v1/namespaces/kube-system/configmaps/while-down`,
      "the ConfigMap written while it was down",
    );
    assert.equal((JSON.parse(seen) as { data: { a: string } }).data.a, "b");
  });

  test("k3s: the binary placed by hand, install.sh with INSTALL_K3S_SKIP_DOWNLOAD writes, enables and starts the k3s unit", async () => {
    upload(k3sHost, join(k3sRelease, "k3s", "v1.31.4+k3s1", "k3s"), "/usr/local/bin/k3s");
    upload(k3sHost, join(k3sRelease, "k3s", "install.sh"), "/root/k3s-install.sh");
    must(k3sHost, "INSTALL_K3S_SKIP_DOWNLOAD=true K3S_TOKEN=k3s-secret sh /root/k3s-install.sh");
    must(
      k3sHost,
      "systemctl is-enabled k3s.service && test -f /etc/systemd/system/k3s.service.env && stat -c %a /etc/systemd/system/k3s.service.env | grep -qx 600",
    );
    const token = await waitFor(k3sHost, "cat /var/lib/rancher/k3s/server/token", "k3s token");
    assert.match(token.trim(), /^K10[0-9a-f]{64}::server:k3s-secret$/);
    const nodes = await waitFor(
      k3sHost,
      `test -f /etc/rancher/k3s/k3s.yaml && curl -fsS --cacert <(grep certificate-authority-data /etc/rancher/k3s/k3s.yaml | awk '{print $2}' | base64 -d) -H "Authorization: Bearer $(awk '/token:/ {print $2}' /etc/rancher/k3s/k3s.yaml)" https://127.0.0.1:6443/api/v1/nodes`,
      "k3s API",
    );
    assert.deepEqual(
      (JSON.parse(nodes) as { items: Array<{ metadata: { name: string } }> }).items.map((node) => node.metadata.name),
      [k3sHost.name],
    );
  });
});
