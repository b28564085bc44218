import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { OperatorError } from "../../../src/errors.js";
import { loadSimNodeConfig, parseSimFlags } from "../../../src/lab/sim-distro/node-config.js";

const dir = mkdtempSync(join(tmpdir(), "airstrap-sim-config-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("config.yaml, then config.yaml.d in order, then environment, then flags", async () => {
  const file = join(dir, "config.yaml");
  writeFileSync(
    file,
    "token: from-file\nserver: https://edge-cluster.edge.lan:19345\nnode-label: [zone=a]\ntls-san:\n  - edge-cluster.edge.lan\n",
  );
  mkdirSync(`${file}.d`);
  writeFileSync(join(`${file}.d`, "10-name.yaml"), "node-name: from-drop-in\n");
  const config = await loadSimNodeConfig(
    "rke2",
    "agent",
    parseSimFlags(["--config", file, "--node-label", "disk=ssd"]),
    { RKE2_TOKEN: "from-env" },
  );
  assert.equal(config.token, "from-env");
  assert.equal(config.server, "https://edge-cluster.edge.lan:19345");
  assert.equal(config.nodeName, "from-drop-in");
  assert.deepEqual(config.nodeLabels, ["zone=a", "disk=ssd"]);
  assert.deepEqual(config.tlsSan, ["edge-cluster.edge.lan"]);
  assert.equal(config.supervisorPort, 9345);
  assert.equal(config.writeKubeconfig, "/etc/rancher/rke2/rke2.yaml");
  const k3s = await loadSimNodeConfig("k3s", "agent", parseSimFlags(["--config", join(dir, "none.yaml")]), {
    K3S_URL: "https://s:6443",
    K3S_TOKEN: "t",
  });
  assert.deepEqual([k3s.server, k3s.token, k3s.supervisorPort, k3s.apiPort], ["https://s:6443", "t", 6443, 6443]);
});

test("a config file that is not a mapping is an operator error naming the file", async () => {
  const file = join(dir, "bad.yaml");
  writeFileSync(file, "- just\n- a list\n");
  await assert.rejects(
    loadSimNodeConfig("rke2", "server", { config: file }, {}),
    (error: unknown) => error instanceof OperatorError && error.message.includes(file),
  );
});

test("flags: --key value, --key=value, repeated keys collect", () => {
  assert.deepEqual(parseSimFlags(["--token", "a", "--tls-san=x", "--tls-san", "y", "--cluster-init"]), {
    token: "a",
    "tls-san": ["x", "y"],
    "cluster-init": "true",
  });
});
