import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parseAllDocuments } from "yaml";
import type { BuiltImage } from "../../src/image/build.js";
import { imageArchiveName } from "../../src/image/image-config.js";
import { LAB_MIRROR_PORT } from "../../src/lab/mirror-helper.js";
import { type CliResult, runAirstrap, runProcess } from "../helpers/cli.js";
import { createTestLab, labBuildWithImage, labSkipReason, type TestLab } from "../lab/lab-fixture.js";

const skipReason = await labSkipReason();

const jsonEvents = (result: CliResult) =>
  result.stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { kind: string; host?: string; message: string; phase?: string });

/**
 * The whole flow on a simulated site: 3 servers + 4 agents as lab hosts with systemd and sshd,
 * the (simulated) RKE2 release pulled from the lab's mirror into a store, then `airstrap install`
 * over SSH and `airstrap wait` through the kubeconfig it saved.
 */
describe("airstrap install on a lab site", { skip: skipReason ?? false }, async () => {
  let site: TestLab;
  let binary: { path: string; remove(): void };
  let first: CliResult;
  let image: BuiltImage;
  const args = () => [
    "--output",
    "json",
    "--node-binary",
    binary.path,
    "--image",
    image.archive,
    "--ready-timeout",
    "180",
  ];

  before(async () => {
    site = await createTestLab({
      offset: 9,
      hosts: [
        { name: "srv-1", role: "server", octet: 11 },
        { name: "srv-2", role: "server", octet: 12 },
        { name: "srv-3", role: "server", octet: 13 },
        { name: "agt-1", role: "agent", octet: 21 },
        { name: "agt-2", role: "agent", octet: 22 },
        { name: "agt-3", role: "agent", octet: 23 },
        { name: "agt-4", role: "agent", octet: 24 },
      ],
    });
    appendFileSync(site.file, `  artifacts: { source: "http://${site.bootstrapAddress}:${LAB_MIRROR_PORT}/rke2" }\n`);
    // The lab build: the hosts' simulated rke2 runs `airstrap lab-distro`, which the shipped build lacks.
    ({ binary, image } = await labBuildWithImage());
    await site.up();
    const pull = await runAirstrap(["artifacts", "pull", "-f", site.file], { cwd: site.dir });
    assert.equal(pull.code, 0, pull.stderr);
    first = await runAirstrap(["install", "-f", site.file, ...args()], { cwd: site.dir });
  });
  after(async () => {
    await site?.remove();
    binary?.remove();
  });

  test("every host is installed in order and the kubeconfig is saved", () => {
    const events = jsonEvents(first);
    const failures = events.filter((e) => e.kind === "install.host.fail").map((e) => `${e.host}: ${e.message}`);
    assert.equal(first.code, 0, `${failures.join("\n")}\n${first.stderr}`);
    const started = events
      .filter((e) => e.kind === "install.host.done" && e.phase?.startsWith("Join the other servers"))
      .map((e) => e.host);
    assert.deepEqual(started, ["srv-2", "srv-3"], "servers join one at a time, in order");
    const kubeconfig = readFileSync(join(site.dir, ".airstrap/kubeconfig"), "utf8");
    assert.match(kubeconfig, new RegExp(`server: https://${site.name}-cluster\\.test\\.lan:16443`));
  });

  test("release files and the executable reached every host over HTTP from the bootstrap machine, not over SSH", () => {
    const changes = jsonEvents(first).filter((e) => e.kind === "install.change");
    for (const host of site.hosts) {
      const mine = changes.filter((e) => e.host === host.name).map((e) => e.message);
      const fetched = mine.filter((m) => m.startsWith("fetch ") && m.includes(`http://${site.bootstrapAddress}:8078`));
      assert.ok(
        fetched.some((m) => /airstrap executable/.test(m)),
        `${host.name}: ${mine.join("; ")}`,
      );
      assert.ok(
        fetched.some((m) => /install\.sh/.test(m)),
        `${host.name}: ${mine.join("; ")}`,
      );
      assert.ok(!mine.some((m) => /^install .*MiB/.test(m)), `${host.name} got a release file over SSH`);
    }
  });

  test("hosts passed the executable and the release files on to each other: the bootstrap machine sent them to two hosts only", () => {
    const events = jsonEvents(first);
    const fromBootstrap = (file: RegExp) =>
      [
        ...new Set(
          events.filter((e) => e.kind === "install.upload.progress" && file.test(e.message)).map((e) => e.host),
        ),
      ].sort();
    assert.deepEqual(fromBootstrap(/^(rke2|sha256sum|install\.sh)/), ["srv-1", "srv-2"]);
    assert.deepEqual(fromBootstrap(/airstrap executable/), ["srv-1", "srv-2"]);
    const relayedFrom = (host: string, file: RegExp) =>
      events
        .filter((e) => e.kind === "install.change" && e.host === host && file.test(e.message))
        .map((e) => /from (\S+) \(relay\)/.exec(e.message)?.[1] ?? "bootstrap");
    for (const file of [/^fetch rke2-images/, /^fetch the airstrap executable/]) {
      assert.deepEqual(
        ["srv-3", "agt-1", "agt-2", "agt-3", "agt-4"].map((host) => relayedFrom(host, file)),
        [["srv-1"], ["srv-1"], ["srv-2"], ["srv-2"], ["srv-3"]],
        String(file),
      );
    }
    for (const host of site.hosts) {
      assert.notEqual(site.ssh(host, "systemctl is-active airstrap-relay").stdout.trim(), "active", host.name);
    }
  });

  test("every node holds airstrap's image in the distro's air-gap images folder, as built", () => {
    const expected = createHash("sha256").update(readFileSync(image.archive)).digest("hex");
    for (const host of site.hosts) {
      const path = `/var/lib/rancher/rke2/agent/images/${imageArchiveName("amd64")}`;
      const sum = site.ssh(host, `sha256sum ${path}`).stdout.split(/\s/)[0];
      assert.equal(sum, expected, `${host.name}: ${path}`);
    }
  });

  test("every server, and no agent, holds the in-cluster objects in its auto-deploy folder, running the pre-loaded image", () => {
    const path = "/var/lib/rancher/rke2/server/manifests/airstrap-node-agent.yaml";
    for (const host of site.hosts) {
      const listed = site.ssh(host, `cat ${path} 2>/dev/null || true`).stdout;
      if (host.role !== "server") {
        assert.equal(listed, "", `${host.name} is an agent`);
        continue;
      }
      const kinds = parseAllDocuments(listed).map((doc) => (doc.toJS() as { kind: string }).kind);
      assert.deepEqual(kinds, ["Namespace", "ServiceAccount", "Role", "RoleBinding", "ConfigMap", "DaemonSet"]);
      assert.match(listed, /image: airstrap\/airstrap:lab$/m);
    }
  });

  test("every registry replica holds airstrap's image under the name the DaemonSet pulls", () => {
    for (const host of site.hosts.filter((h) => h.role === "server")) {
      const listed = site.ssh(host, "/usr/local/bin/airstrap registry list --root /var/lib/airstrap/registry").stdout;
      assert.match(listed, /^docker\.io\/airstrap\/airstrap\tlab$/m, `${host.name}:\n${listed}`);
    }
  });

  test("every server runs a registry replica seeded with the store's releases, served with the site CA", () => {
    for (const host of site.hosts.filter((h) => h.role === "server")) {
      const listed = site.ssh(host, "airstrap registry list --root /var/lib/airstrap/registry");
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /rke2/, `${host.name} holds the release`);
      const catalog = site.ssh(
        host,
        `curl -fsS --cacert /etc/airstrap/site-ca.crt https://${host.name}.test.lan:5000/v2/_catalog`,
      );
      const journal = () => site.ssh(host, "journalctl -u airstrap-registry --no-pager | tail -n 20").stdout;
      assert.equal(catalog.code, 0, `${catalog.stderr}\n${catalog.code === 0 ? "" : journal()}`);
      assert.match(catalog.stdout, /rke2/);
    }
    const key = site.ssh(
      site.hosts[0]!,
      "stat -c %a /etc/airstrap/registry/server.key /etc/airstrap/registry/push-token",
    );
    assert.deepEqual(key.stdout.trim().split("\n"), ["600", "600"]);
  });

  test("all nodes are Ready through the kubeconfig, reached via the cluster FQDN and the LB", async () => {
    // The kubeconfig names the cluster FQDN, which only the nodes' DNS resolves: ask through a node.
    const wait = await runAirstrap(["wait", "-f", site.file, "--timeout", "120"], { cwd: site.dir });
    assert.equal(wait.code, 0, wait.stderr);
    for (const host of site.hosts) assert.match(wait.stdout, new RegExp(`^${host.name}\\s+Ready`, "m"));
  });

  test("kubectl on this machine reaches every server through the workstation kubeconfig, TLS verified", (t) => {
    if (spawnSync("kubectl", ["version", "--client"]).status !== 0)
      return t.skip("kubectl is not installed (Debian's kubernetes-client package provides it)");
    const path = join(site.dir, ".airstrap/kubeconfig-workstation");
    const kubectl = (file: string, context: string) =>
      spawnSync("kubectl", ["--kubeconfig", file, "--context", context, "get", "nodes", "--no-headers"], {
        encoding: "utf8",
        timeout: 120_000,
      });
    for (const server of site.hosts.filter((h) => h.role === "server")) {
      const result = kubectl(path, `${site.name}@${server.name}`);
      assert.equal(result.status, 0, result.stderr);
      for (const host of site.hosts) assert.match(result.stdout, new RegExp(`^${host.name}\\s+Ready`, "m"));
    }
    // The name is really checked: the same file naming another server name is refused by kubectl.
    const wrong = join(site.dir, ".airstrap/kubeconfig-wrong-name");
    writeFileSync(wrong, readFileSync(path, "utf8").replaceAll("tls-server-name: ", "tls-server-name: not-"), {
      mode: 0o600,
    });
    const refused = kubectl(wrong, `${site.name}@${site.hosts[0]!.name}`);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /certificate is valid for|x509/);
  });

  test("the other servers joined through the cluster FQDN and their node-local LB", () => {
    const [, second] = site.hosts;
    const config = site.ssh(second!, "cat /etc/rancher/rke2/config.yaml").stdout;
    assert.match(config, new RegExp(`^server: https://${site.name}-cluster\\.test\\.lan:19345$`, "m"));
    const resolved = site.ssh(second!, `getent hosts ${site.name}-cluster.test.lan`).stdout;
    assert.match(
      resolved,
      new RegExp(`^${second!.address.replaceAll(".", "\\.")}\\s`),
      "the cluster record is the node itself",
    );
    const metrics = site.ssh(
      second!,
      "/usr/local/bin/airstrap probe http://127.0.0.1:9154/healthz --expect 200 && curl -fsS http://127.0.0.1:9154/metrics",
    ).stdout;
    assert.match(metrics, /join/, "the join listener of the node-local LB carried the join");
  });

  test("a host whose SSH host key changed stops the run with the command that re-pins it", async () => {
    const host = site.hosts.find((h) => h.name === "agt-4")!;
    const rekey = site.ssh(host, "rm -f /etc/ssh/ssh_host_*key* && ssh-keygen -q -A && systemctl restart ssh");
    assert.equal(rekey.code, 0, rekey.stderr);
    const result = await runAirstrap(["install", "-f", site.file, ...args()], { cwd: site.dir });
    assert.equal(result.code, 1);
    const failure = jsonEvents(result).find((e) => e.kind === "install.host.fail" && e.host === "agt-4");
    assert.match(failure?.message ?? "", /SSH host key changed/);
    assert.match(JSON.stringify(failure), /airstrap hosts forget agt-4/);
    const forget = await runAirstrap(["hosts", "forget", "agt-4", "-f", site.file], { cwd: site.dir });
    assert.equal(forget.code, 0, forget.stderr);
  });

  test("a second run, by the single-file executable itself, changes nothing and says so", async () => {
    // The executable operators carry runs install too (it once could not: it has no dynamic import()).
    const again = await runProcess(binary.path, ["install", "-f", site.file, ...args()], {
      cwd: site.dir,
      env: { ...process.env, NO_COLOR: "1" },
    });
    assert.equal(again.code, 0, again.stderr);
    const changes = jsonEvents(again).filter((e) => e.kind === "install.change");
    assert.deepEqual(
      changes.map((e) => `${e.host}: ${e.message}`),
      [],
    );
  });
});
