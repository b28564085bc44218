import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createEvents } from "../../src/events.js";
import { KubeClient } from "../../src/kube/client.js";
import { startNodeAgent } from "../../src/node-agent/agent.js";
import { inClusterCredentials } from "../../src/node-agent/in-cluster-credentials.js";
import { SITE_CONFIGMAP, SITE_MANIFEST_KEY } from "../../src/render/in-cluster/objects.js";
import { example } from "../helpers/cli.js";
import { NAMESPACE, planJsonOf, serviceAccountDir, simulatedApi, withWikiRecord } from "./harness.js";

async function agentAgainst(t: { after(fn: () => unknown): void }, api: Awaited<ReturnType<typeof simulatedApi>>) {
  const account = await serviceAccountDir(t, api.caFile);
  const dir = await mkdtemp(join(tmpdir(), "airstrap-agent-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const credentials = await inClusterCredentials(
    { KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT: String(api.port) },
    account,
  );
  const hostPlanFile = join(dir, "plan.json");
  const agent = startNodeAgent(
    {
      namespace: NAMESPACE,
      configMap: SITE_CONFIGMAP,
      key: SITE_MANIFEST_KEY,
      nodeName: "k8s-agent-01",
      hostPlanFile,
      version: "9.9.9",
      intervalMs: 60_000,
    },
    new KubeClient(credentials),
    createEvents(),
  );
  t.after(() => agent.close());
  return { agent, hostPlanFile };
}

/** The example site in the ConfigMap and an agent that has written it once. */
async function syncedAgent(t: { after(fn: () => unknown): void }) {
  const api = await simulatedApi(t);
  const text = await readFile(example("rke2-ha.yaml"), "utf8");
  api.setManifest(text);
  const { agent, hostPlanFile } = await agentAgainst(t, api);
  assert.equal(await agent.syncOnce(), "written");
  return { api, text, agent, hostPlanFile };
}

test("the agent writes the ConfigMap's site as the host's plan.json, follows changes, and reports each generation", async (t) => {
  const { api, text, agent, hostPlanFile } = await syncedAgent(t);
  assert.equal(await readFile(hostPlanFile, "utf8"), planJsonOf(text));
  assert.equal(await agent.syncOnce(), "unchanged");

  // A new record reaches the file (the host service reloads on that change).
  api.setManifest(withWikiRecord(text));
  assert.equal(await agent.syncOnce(), "written");
  const plan = JSON.parse(await readFile(hostPlanFile, "utf8"));
  assert.ok(JSON.stringify(plan.dns).includes("10.77.0.31"));
  const synced = api.eventReasons().filter((e) => e.reason === "Synced");
  assert.equal(synced.length, 2, "one Event per generation");
  assert.match(synced[0]!.message, /k8s-agent-01 serves generation [0-9a-f]{16} with airstrap 9\.9\.9/);
});

test("an invalid ConfigMap is refused and reported, and the node keeps its last good plan", async (t) => {
  const { api, text, agent, hostPlanFile } = await syncedAgent(t);
  const good = await readFile(hostPlanFile, "utf8");

  api.setManifest(text.replace("role: agent", "role: captain"));
  assert.equal(await agent.syncOnce(), "refused");
  assert.equal(await readFile(hostPlanFile, "utf8"), good);
  const refused = api.eventReasons().find((e) => e.reason === "InvalidConfiguration");
  assert.match(refused?.message ?? "", /not a valid manifest.*role/);

  // A site without this node is refused too: the agent never empties what its node serves.
  api.setManifest(text.replaceAll("k8s-agent-01", "k8s-agent-09"));
  assert.equal(await agent.syncOnce(), "refused");
  assert.equal(await readFile(hostPlanFile, "utf8"), good);
});
