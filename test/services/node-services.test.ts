import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { REPO, tempDir } from "../helpers/cli.js";
import { edgePlan } from "../helpers/plan-of.js";
import { curl } from "../peers/curl.js";
import { dig } from "../peers/dig.js";

const TSX = import.meta.resolve("tsx");

/** A site on loopback addresses, with high ports so no privilege is needed. */
function loopbackPlan(ports: { dns: number; api: number; join: number }, extraRecord = "") {
  return edgePlan(
    [
      { name: "k8s-server-01", address: "127.0.0.11", role: "server" },
      { name: "k8s-server-02", address: "127.0.0.12", role: "server" },
      { name: "k8s-server-03", address: "127.0.0.13", role: "server" },
      { name: "k8s-agent-01", address: "127.0.0.21", role: "agent" },
    ],
    `  dns:
    port: ${ports.dns}
    records: [{ name: git, type: A, value: 127.0.0.30 }${extraRecord}]
  loadBalancer: { apiPort: ${ports.api}, joinPort: ${ports.join} }
`,
  );
}

async function untilTrue(check: () => Promise<boolean>, what: string | (() => string), limitMs = 8000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  assert.fail(`timed out waiting for ${typeof what === "string" ? what : what()}`);
}

const canConnect = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });

test("airstrap node serves the node's DNS and load balancer from the plan, reloads it, and stops on SIGTERM", async (t) => {
  const dir = await tempDir(t);
  // Below the kernel's ephemeral range (32768+), where outgoing connections of other tests could hold the port.
  const base = 20000 + Math.floor(Math.random() * 12000);
  const ports = { dns: base, api: base + 1, join: base + 2 };
  const planPath = join(dir, "plan.json");
  await writeFile(planPath, JSON.stringify(loopbackPlan(ports)));

  const child: ChildProcess = spawn(
    process.execPath,
    [
      "--import",
      TSX,
      join(REPO, "src/cli/main.ts"),
      "node",
      "--plan",
      planPath,
      "--node",
      "k8s-agent-01",
      "--dns-http",
      `127.0.0.21:${base + 3}`,
      "--lb-admin",
      `127.0.0.21:${base + 4}`,
      "--status-listen",
      `127.0.0.21:${base + 5}`,
    ],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, NO_COLOR: "1" } },
  );
  let stderr = "";
  child.stderr!.on("data", (chunk) => {
    stderr += chunk;
  });
  t.after(() => child.kill("SIGKILL"));
  const server = { address: "127.0.0.21", port: ports.dns };
  await untilTrue(
    async () => /airstrap node k8s-agent-01:/.test(stderr),
    () => `the node to start (stderr: ${stderr})`,
    60_000,
  );

  const cluster = await dig(server, "edge-cluster.edge.lan", "A");
  assert.deepEqual(
    cluster.answer.map((r) => r.data),
    ["127.0.0.21"],
    "the cluster record is the node itself",
  );
  assert.deepEqual(
    (await dig(server, "k8s-server-02.edge.lan", "A")).answer.map((r) => r.data),
    ["127.0.0.12"],
  );
  assert.equal(await canConnect("127.0.0.21", ports.api), true, "LB API port listens on the node's address");
  assert.equal(await canConnect("127.0.0.21", ports.join), true, "LB join port listens on the node's address");
  const status = await curl(`http://127.0.0.21:${base + 5}/healthz`);
  const report = JSON.parse(status.text) as { dns: { serving: boolean }; lb: { listeners: Array<{ name: string }> } };
  assert.equal(report.dns.serving, true, "the status listener reports the node's DNS");
  assert.deepEqual(
    report.lb.listeners.map((l) => l.name),
    ["api", "join"],
    "and its load balancer's listeners",
  );

  await writeFile(planPath, JSON.stringify(loopbackPlan(ports, ", { name: registry, type: A, value: 127.0.0.31 }")));
  await untilTrue(
    async () => (await dig(server, "registry.edge.lan", "A")).answer.some((r) => r.data === "127.0.0.31"),
    "the reloaded record",
  );

  await writeFile(planPath, "{ broken");
  await sleep(600);
  assert.deepEqual(
    (await dig(server, "registry.edge.lan", "A")).answer.map((r) => r.data),
    ["127.0.0.31"],
    "a broken plan keeps the running configuration",
  );
  assert.match(stderr, /kept the running configuration/);

  child.kill("SIGTERM");
  const [code] = await once(child, "exit");
  assert.equal(code, 0, stderr);
});
