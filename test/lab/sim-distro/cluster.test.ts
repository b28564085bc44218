import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { parse as parseYaml } from "yaml";
import { silentEvents } from "../../../src/events.js";
import { runSimAgent } from "../../../src/lab/sim-distro/agent-node.js";
import type { SimNodeConfig } from "../../../src/lab/sim-distro/node-config.js";
import { type RunningSimNode, runSimServer } from "../../../src/lab/sim-distro/server-node.js";
import { caHash } from "../../../src/lab/sim-distro/token.js";

const execFileAsync = promisify(execFile);
const VERSION = "v1.31.4+rke2r1";
const base = 21000 + ((process.pid * 7) % 20000);
const ports = { api: base, supervisor: base + 1 };
const dir = mkdtempSync(join(tmpdir(), "airstrap-sim-distro-"));

function config(
  name: string,
  address: string,
  role: "server" | "agent",
  extra: Partial<SimNodeConfig> = {},
): SimNodeConfig {
  return {
    distro: "rke2",
    role,
    nodeName: name,
    nodeIp: address,
    nodeLabels: [],
    nodeTaints: [],
    tlsSan: ["localhost"],
    dataDir: join(dir, name),
    writeKubeconfig: join(dir, name, "rke2.yaml"),
    bindAddress: address,
    apiPort: ports.api,
    supervisorPort: ports.supervisor,
    ...extra,
  };
}

interface Kubeconfig {
  clusters: Array<{ cluster: { "certificate-authority-data": string; server: string } }>;
  users: Array<{ user: { token: string } }>;
}

/** The parts of API answers these tests read. */
interface ApiBody {
  gitVersion?: string;
  items: Array<{
    metadata: { name: string; labels: Record<string, string> };
    spec: { taints: unknown[] };
    status: { conditions: Array<{ status: string }> };
  }>;
}

function get(address: string, path: string, kubeconfigFile: string): Promise<{ status: number; body: ApiBody }> {
  const kubeconfig = parseYaml(readFileSync(kubeconfigFile, "utf8")) as Kubeconfig;
  const ca = Buffer.from(kubeconfig.clusters[0]!.cluster["certificate-authority-data"], "base64").toString("utf8");
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: address,
        port: ports.api,
        path,
        ca,
        servername: "localhost",
        headers: { authorization: `Bearer ${kubeconfig.users[0]!.user.token}` },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

const nodeNames = (list: { items: Array<{ metadata: { name: string } }> }) =>
  list.items.map((item) => item.metadata.name);

describe("simulated distro: a cluster of servers and agents on loopback", () => {
  const running: RunningSimNode[] = [];
  const joinUrl = `https://localhost:${ports.supervisor}`;

  before(async () => {
    running.push(
      await runSimServer(config("s1", "127.0.0.1", "server", { token: "lab-secret" }), VERSION, silentEvents),
    );
  });

  after(async () => {
    await Promise.all(running.map((node) => node.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  test("the first server writes node-token and kubeconfig where the distro does, 0600, the token pinning the CA", async () => {
    const token = readFileSync(join(dir, "s1", "server", "node-token"), "utf8").trim();
    assert.equal(statSync(join(dir, "s1", "server", "node-token")).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, "s1", "rke2.yaml")).mode & 0o777, 0o600);
    const kubeconfig = parseYaml(readFileSync(join(dir, "s1", "rke2.yaml"), "utf8")) as Kubeconfig;
    const ca = Buffer.from(kubeconfig.clusters[0]!.cluster["certificate-authority-data"], "base64").toString("utf8");
    assert.equal(token, `K10${caHash(ca)}::server:lab-secret`);
    assert.equal(kubeconfig.clusters[0]!.cluster.server, `https://127.0.0.1:${ports.api}`);
  });

  test("a wrong token is refused and the node does not appear", async () => {
    await assert.rejects(
      runSimAgent(
        config("intruder", "127.0.0.9", "agent", { server: joinUrl, token: "not-the-token" }),
        VERSION,
        silentEvents,
      ),
      /refused this node.*401/,
    );
    const nodes = await get("127.0.0.1", "/api/v1/nodes", join(dir, "s1", "rke2.yaml"));
    assert.deepEqual(nodeNames(nodes.body), ["s1"]);
  });

  test("/api/v1/nodes lists exactly the hosts that joined, Ready, on every server", async () => {
    const fullToken = readFileSync(join(dir, "s1", "server", "node-token"), "utf8").trim();
    running.push(
      await runSimServer(
        config("s2", "127.0.0.2", "server", { server: joinUrl, token: fullToken }),
        VERSION,
        silentEvents,
      ),
    );
    running.push(
      await runSimAgent(
        config("a1", "127.0.0.3", "agent", {
          server: joinUrl,
          token: "lab-secret",
          nodeLabels: ["zone=a"],
          nodeTaints: ["gpu=yes:NoSchedule"],
        }),
        VERSION,
        silentEvents,
      ),
    );
    for (const [server, address] of [
      ["s1", "127.0.0.1"],
      ["s2", "127.0.0.2"],
    ] as const) {
      const deadline = Date.now() + 30_000;
      let names: string[] = [];
      while (Date.now() < deadline) {
        names = nodeNames((await get(address, "/api/v1/nodes", join(dir, server, "rke2.yaml"))).body);
        if (names.length === 3) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.deepEqual(names, ["a1", "s1", "s2"], `as ${server} sees it`);
      const nodes = (await get(address, "/api/v1/nodes", join(dir, server, "rke2.yaml"))).body;
      for (const node of nodes.items)
        assert.equal(node.status.conditions[0]?.status, "True", `${node.metadata.name} Ready`);
      const agent = nodes.items.find((node) => node.metadata.name === "a1")!;
      assert.equal(agent.metadata.labels.zone, "a");
      assert.deepEqual(agent.spec.taints, [{ key: "gpu", value: "yes", effect: "NoSchedule" }]);
    }
  });

  test("the API needs the kubeconfig's credentials; /readyz and /version do not", async () => {
    const kubeconfig = join(dir, "s1", "rke2.yaml");
    const version = await get("127.0.0.1", "/version", kubeconfig);
    assert.equal(version.body.gitVersion, VERSION);
    const anonymous = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port: ports.api, path: "/api/v1/nodes", rejectUnauthorized: false },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end();
    });
    assert.equal(anonymous, 401);
    const readyz = await new Promise<number>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: ports.api, path: "/readyz", rejectUnauthorized: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(readyz, 200);
  });

  test("objects applied through one server are read back through another", async () => {
    const kubeconfig = parseYaml(readFileSync(join(dir, "s1", "rke2.yaml"), "utf8")) as Kubeconfig;
    const ca = Buffer.from(kubeconfig.clusters[0]!.cluster["certificate-authority-data"], "base64").toString("utf8");
    const body = JSON.stringify({
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "airstrap-node" },
      spec: { template: {} },
    });
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: ports.api,
          method: "PATCH",
          path: "/apis/apps/v1/namespaces/kube-system/daemonsets/airstrap-node?fieldManager=airstrap",
          ca,
          servername: "localhost",
          headers: {
            authorization: `Bearer ${kubeconfig.users[0]!.user.token}`,
            "content-type": "application/apply-patch+yaml",
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
    assert.equal(status, 201);
    const deadline = Date.now() + 30_000;
    let found = 0;
    while (Date.now() < deadline) {
      found = (
        await get(
          "127.0.0.2",
          "/apis/apps/v1/namespaces/kube-system/daemonsets/airstrap-node",
          join(dir, "s2", "rke2.yaml"),
        )
      ).status;
      if (found === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(found, 200);
  });

  test("kubectl get nodes works through the kubeconfig the server wrote", async (t) => {
    const probe = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" });
    if (probe.error || probe.status !== 0) {
      t.skip("kubectl is not installed (Debian's kubernetes-client package provides it)");
      return;
    }
    // Asynchronously: the servers answering kubectl run in this very process.
    const result = await execFileAsync(
      "kubectl",
      ["--kubeconfig", join(dir, "s1", "rke2.yaml"), "get", "nodes", "--no-headers"],
      {
        encoding: "utf8",
        timeout: 30_000,
      },
    );
    const rows = result.stdout
      .trim()
      .split("\n")
      .map((line) => line.split(/\s+/).slice(0, 2));
    assert.deepEqual(rows, [
      ["a1", "Ready"],
      ["s1", "Ready"],
      ["s2", "Ready"],
    ]);
  });
});
