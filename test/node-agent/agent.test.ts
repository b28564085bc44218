import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createEvents, type Events } from "../../src/events.js";
import { KubeClient } from "../../src/kube/client.js";
import { startNodeAgent } from "../../src/node-agent/agent.js";
import { inClusterCredentials } from "../../src/node-agent/in-cluster-credentials.js";
import { SITE_CONFIGMAP, SITE_MANIFEST_KEY } from "../../src/render/in-cluster/objects.js";
import { example } from "../helpers/cli.js";
import { waitFor, waitForValue } from "../helpers/wait-for.js";
import { NAMESPACE, planJsonOf, serviceAccountDir, simulatedApi, withWikiRecord } from "./harness.js";

type Api = Awaited<ReturnType<typeof simulatedApi>>;
const NODE = "k8s-agent-01";

async function agentAgainst(t: { after(fn: () => unknown): void }, api: Api, events: Events = createEvents()) {
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
      nodeName: NODE,
      hostPlanFile,
      version: "9.9.9",
      watch: { timeoutSeconds: 30, backoff: { initialMs: 50, maxMs: 400 } },
    },
    new KubeClient(credentials),
    events,
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

const fileHolds = (file: string, text: string) => async () =>
  (await readFile(file, "utf8").catch(() => "")) === text ? true : undefined;

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

  // What the node serves now, in its status ConfigMap.
  const status = api.statusOf(NODE).data ?? {};
  assert.equal(status.state, "Serving");
  assert.equal(status.node, NODE);
  assert.equal(status.agentVersion, "9.9.9");
  assert.match(status.generation ?? "", /^[0-9a-f]{16}$/);
  assert.ok(synced.some((e) => e.message.includes(status.generation!)));
  assert.match(status.siteResourceVersion ?? "", /^\d+$/);
});

test("an invalid ConfigMap is refused and reported, and the node keeps its last good plan", async (t) => {
  const { api, text, agent, hostPlanFile } = await syncedAgent(t);
  const good = await readFile(hostPlanFile, "utf8");
  const served = api.statusOf(NODE).data?.generation;

  api.setManifest(text.replace("role: agent", "role: captain"));
  assert.equal(await agent.syncOnce(), "refused");
  assert.equal(await readFile(hostPlanFile, "utf8"), good);
  const refused = api.eventReasons().find((e) => e.reason === "InvalidConfiguration");
  assert.match(refused?.message ?? "", /not a valid manifest.*role/);
  const status = api.statusOf(NODE).data ?? {};
  assert.equal(status.state, "Refused");
  assert.equal(status.generation, served, "the status still names the generation the node serves");

  // A site without this node is refused too: the agent never empties what its node serves.
  api.setManifest(text.replaceAll("k8s-agent-01", "k8s-agent-09"));
  assert.equal(await agent.syncOnce(), "refused");
  assert.equal(await readFile(hostPlanFile, "utf8"), good);
});

test("the agent follows the ConfigMap through a watch: changes arrive without a poll, a cut watch is reopened, 410 Gone lists again", async (t) => {
  const api = await simulatedApi(t);
  const text = await readFile(example("rke2-ha.yaml"), "utf8");
  api.setManifest(text);
  const events = createEvents();
  const seen: string[] = [];
  events.subscribe((event) => seen.push(event.kind));
  const { agent, hostPlanFile } = await agentAgainst(t, api, events);
  agent.start();
  await waitForValue(fileHolds(hostPlanFile, planJsonOf(text)), "the first list's plan");
  await waitFor(() => api.watchesOpened() === 1, "the watch");

  api.setManifest(withWikiRecord(text));
  await waitForValue(fileHolds(hostPlanFile, planJsonOf(withWikiRecord(text))), "the watched change");
  assert.equal(api.watchesOpened(), 1, "the change came through the open watch");

  // The watch is cut (an API server restart): reopened from the last version seen, nothing missed.
  api.dropConnections();
  api.setManifest(text);
  await waitForValue(fileHolds(hostPlanFile, planJsonOf(text)), "the change made while the watch was cut");
  await waitFor(() => api.watchesOpened() >= 2, "the reopened watch");
  assert.ok(!seen.includes("node-agent.watch.expired"));

  // The history the agent's version is in is compacted away: the server says 410, the agent lists again.
  for (let i = 0; i < 3; i++) api.touch(`unrelated-${i}`);
  api.hub.compact();
  api.setManifest(withWikiRecord(text));
  api.dropConnections();
  await waitFor(() => seen.includes("node-agent.watch.expired"), "410 Gone seen");
  await waitForValue(fileHolds(hostPlanFile, planJsonOf(withWikiRecord(text))), "the state the new list found");
});

test("the agent rides out an unreachable API with backoff, keeps serving, and catches up when it answers", async (t) => {
  const api = await simulatedApi(t, { bookmarkMs: 100 });
  const text = await readFile(example("rke2-ha.yaml"), "utf8");
  api.setManifest(text);
  const events = createEvents();
  const warnings: string[] = [];
  events.subscribe((event) => {
    if (event.kind === "node-agent.unreachable") warnings.push(event.message);
  });
  const { agent, hostPlanFile } = await agentAgainst(t, api, events);
  agent.start();
  await waitForValue(fileHolds(hostPlanFile, planJsonOf(text)), "the first plan");

  api.setFailing(true);
  await waitFor(() => warnings.length >= 3, "three failed attempts");
  assert.match(warnings.at(-1)!, /HTTP 503.*serving the last good configuration, retrying in/);
  const waits = warnings.map((w) => Number(/retrying in ([\d.]+) s/.exec(w)?.[1]));
  assert.ok(waits.at(-1)! > waits[0]!, `the wait grows: ${waits.join(", ")}`);
  assert.equal(await readFile(hostPlanFile, "utf8"), planJsonOf(text), "nothing changed while the API was down");

  api.setManifest(withWikiRecord(text));
  api.setFailing(false);
  await waitForValue(fileHolds(hostPlanFile, planJsonOf(withWikiRecord(text))), "the change made while down");
});

test("bookmarks move the agent's resourceVersion on, so a watch reopened after a compaction needs no new list", async (t) => {
  const api = await simulatedApi(t, { bookmarkMs: 100 });
  const text = await readFile(example("rke2-ha.yaml"), "utf8");
  api.setManifest(text);
  const events = createEvents();
  const seen: Array<{ kind: string; message: string }> = [];
  events.subscribe((event) => seen.push(event));
  const { agent, hostPlanFile } = await agentAgainst(t, api, events);
  agent.start();
  await waitForValue(fileHolds(hostPlanFile, planJsonOf(text)), "the first plan");

  for (let i = 0; i < 3; i++) api.touch(`unrelated-${i}`);
  const after = String(Number(JSON.parse(JSON.stringify(api.touch("unrelated-last").body)).metadata.resourceVersion));
  await waitFor(
    () => seen.some((e) => e.kind === "node-agent.watch.bookmark" && e.message.endsWith(`resourceVersion ${after}`)),
    "a bookmark past the unrelated writes",
  );
  api.hub.compact();
  api.setManifest(withWikiRecord(text));
  api.dropConnections();
  await waitForValue(fileHolds(hostPlanFile, planJsonOf(withWikiRecord(text))), "the change");
  assert.ok(!seen.some((e) => e.kind === "node-agent.watch.expired"), "no 410: the bookmark kept the version fresh");
});
