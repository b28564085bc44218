import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { hostname } from "node:os";
import { test } from "node:test";
import { promisify } from "node:util";
import { checkFacts } from "../../src/install/check-facts.js";
import { factsScript, type HostFacts, parseFacts, parseListening } from "../../src/install/facts.js";
import { missingTags } from "../../src/install/phases/registry-replicas.js";
import { validateManifestText } from "../../src/manifest/validate.js";
import { planCluster } from "../../src/plan/plan.js";
import { example } from "../helpers/cli.js";

const run = promisify(execFile);

test("the facts script reads this machine as it is", async (t) => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;
  const sentAt = Date.now();
  const { stdout } = await run("sh", ["-c", factsScript("rke2", "server")]);
  const facts = parseFacts(stdout, sentAt, Date.now());
  assert.equal(facts.hostname, hostname());
  assert.equal(facts.arch, process.arch === "x64" ? "amd64" : process.arch);
  const machineId = await readFile("/etc/machine-id", "utf8").then(
    (s) => s.trim(),
    () => "",
  );
  assert.equal(facts.machineId, machineId);
  assert.ok(Math.abs(facts.clockSkewSeconds) < 5, `skew ${facts.clockSkewSeconds}`);
  assert.ok(facts.diskFreeBytes > 0);
  assert.equal(facts.distroActive, false);
  if (facts.listening.length === 0) t.skip("neither ss nor netstat is installed");
  else
    assert.ok(
      facts.listening.some((l) => l.port === port && l.address === "127.0.0.1"),
      JSON.stringify(facts.listening),
    );
});

test("listening sockets in ss notation", () => {
  assert.deepEqual(parseListening("0.0.0.0:22"), [{ address: "*", port: 22 }]);
  assert.deepEqual(parseListening("[::]:6443"), [{ address: "*", port: 6443 }]);
  assert.deepEqual(parseListening("*:9345"), [{ address: "*", port: 9345 }]);
  assert.deepEqual(parseListening("127.0.0.53%lo:53"), [{ address: "127.0.0.53", port: 53 }]);
  assert.deepEqual(parseListening("[fd00::1]:16443"), [{ address: "fd00::1", port: 16443 }]);
  assert.deepEqual(parseListening("garbage"), []);
});

async function plan() {
  const result = validateManifestText(await readFile(example("rke2-ha.yaml"), "utf8"), "x", {});
  return planCluster(result.manifest!);
}

const healthy = (name: string, id: string): HostFacts => ({
  os: "debian 12",
  arch: "amd64",
  hostname: name,
  machineId: id,
  clockSkewSeconds: 0.2,
  diskFreeBytes: 50 * 2 ** 30,
  distroActive: false,
  nodeServiceActive: false,
  nodeServiceRunning: false,
  hasCurl: true,
  registryServiceActive: false,
  listening: [
    { address: "*", port: 22 },
    { address: "127.0.0.53", port: 53 },
  ],
});

test("healthy hosts pass; a resolver on 127.0.0.53:53 is no conflict for a DNS server on the node address", async () => {
  const p = await plan();
  const facts = new Map(p.hosts.map((h, i) => [h.name, healthy(h.name, `id${i}`)]));
  assert.deepEqual(checkFacts(p, facts), []);
});

test("clones, wrong arch, small disks, skewed clocks and taken ports are each found", async () => {
  const p = await plan();
  const facts = new Map(p.hosts.map((h, i) => [h.name, healthy(h.name, `id${i}`)]));
  facts.set("k8s-server-02", { ...healthy("k8s-server-01", "id0"), arch: "arm64" });
  facts.set("k8s-server-03", { ...healthy("k8s-server-03", "id2"), diskFreeBytes: 2 ** 30, clockSkewSeconds: -120 });
  facts.set("k8s-agent-01", {
    ...healthy("k8s-agent-01", "id3"),
    listening: [
      { address: "*", port: 16443 },
      { address: "10.77.0.21", port: 53 },
    ],
  });
  facts.set("k8s-agent-02", {
    ...healthy("k8s-agent-02", "id4"),
    distroActive: true,
    listening: [
      { address: "*", port: 6443 },
      { address: "*", port: 10250 },
    ],
  });
  const problems = checkFacts(p, facts).map((x) => `${x.host}: ${x.problem}`);
  assert.deepEqual(problems, [
    'k8s-server-02: hostname "k8s-server-01" is also k8s-server-01\'s',
    "k8s-server-02: machine-id is the same as k8s-server-01's (a cloned image?)",
    "k8s-server-02: is arm64, the artifacts are for amd64",
    "k8s-server-03: has 1.0 GiB free under /var/lib, a server needs 8.0 GiB",
    "k8s-server-03: clock is -120 s off this machine's",
    "k8s-agent-01: port 16443 (load balancer api) is already in use",
    "k8s-agent-01: port 53 (DNS) is already in use",
  ]);
});

test("the ports airstrap-node holds while systemd still calls it activating are ours (a machine Ignition booted)", async () => {
  const p = await plan();
  const taken = [
    { address: "*", port: 16443 },
    { address: "10.77.0.21", port: 53 },
  ];
  const starting = parseFacts("nodeServiceActive=activating\n", 0, 0);
  assert.deepEqual([starting.nodeServiceActive, starting.nodeServiceRunning], [false, true]);
  const facts = new Map(p.hosts.map((h, i) => [h.name, healthy(h.name, `id${i}`)]));
  facts.set("k8s-agent-01", { ...healthy("k8s-agent-01", "id3"), nodeServiceRunning: true, listening: taken });
  assert.deepEqual(checkFacts(p, facts), []);
  const stopped = parseFacts("nodeServiceActive=failed\n", 0, 0);
  facts.set("k8s-agent-01", { ...healthy("k8s-agent-01", "id3"), ...pick(stopped), listening: taken });
  assert.equal(checkFacts(p, facts).length, 2, "a failed service holds nothing: whatever listens is something else");
});

const pick = (f: HostFacts) => ({ nodeServiceActive: f.nodeServiceActive, nodeServiceRunning: f.nodeServiceRunning });

test("a replica is seeded only with the tags its store lacks", () => {
  const expected = [
    { repo: "airstrap/releases/rke2", tags: ["v1.31.4-rke2r1-amd64"] },
    { repo: "library/nginx", tags: ["1.27", "1.26"] },
  ];
  assert.deepEqual(missingTags(expected, ""), [
    "airstrap/releases/rke2:v1.31.4-rke2r1-amd64",
    "library/nginx:1.27",
    "library/nginx:1.26",
  ]);
  assert.deepEqual(
    missingTags(expected, "library/nginx\t1.26 1.27\nairstrap/releases/rke2\tv1.31.4-rke2r1-amd64\n"),
    [],
  );
  assert.deepEqual(missingTags(expected, "library/nginx\t1.27\n"), [
    "airstrap/releases/rke2:v1.31.4-rke2r1-amd64",
    "library/nginx:1.26",
  ]);
});
