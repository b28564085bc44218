import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chown, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { silentEvents } from "../../src/events.js";
import { IMAGE_USER } from "../../src/image/rootfs.js";
import { readPlanFile } from "../../src/plan/plan-file.js";
import { startNodeServices, watchPlanFile } from "../../src/services/node-services.js";
import { buildSingleExecutable } from "../peers/airstrap-sea.js";
import { startContainerd } from "../peers/containerd.js";
import { containerdTest, eventually, imageAndSite, planJsonOf, runAgentContainer, withWikiRecord } from "./harness.js";

const run = promisify(execFile);
const NODE = "k8s-agent-01";

async function digA(address: string, name: string): Promise<string> {
  const { stdout } = await run("dig", [`@${address}`, name, "A", "+short", "+tries=1", "+timeout=2"], {
    timeout: 20_000,
  }).catch(() => ({ stdout: "" }));
  return stdout.trim();
}

test("the agent, run from airstrap's image by real containerd with the DaemonSet's mounts and environment, drives the host service", async (t) => {
  const started = await containerdTest(t, "airstrap-agent-image-");
  if (!started) return;
  const { scope, work } = started;
  const executable = buildSingleExecutable();
  scope.after(() => executable.remove());
  const { image, api, text, account } = await imageAndSite(scope, work, executable.path, "agent-test");
  // The host's /etc/airstrap. The DaemonSet runs the agent as root; ctr run has no --user, so here it
  // runs as the image's own user, which owns this folder instead.
  const hostConfig = join(work, "etc-airstrap");
  await run("mkdir", ["-m", "0755", hostConfig]);
  await chown(hostConfig, IMAGE_USER.uid, IMAGE_USER.gid);
  const planFile = join(hostConfig, "plan.json");

  const containerd = await startContainerd(scope);
  await containerd.ctr(["images", "import", image.archive]);
  await runAgentContainer(containerd, {
    image: "docker.io/airstrap/airstrap:agent-test",
    id: "airstrap-agent",
    serviceAccount: account,
    hostConfig,
    node: NODE,
    nodeAddress: "127.0.0.1",
    apiPort: api.port,
  });

  const written = await eventually("the agent writes plan.json", () =>
    readFile(planFile, "utf8").catch(() => undefined),
  );
  assert.equal(written, planJsonOf(text));

  // The host service, as airstrap-node runs it, but on a loopback address of its own.
  const address = `127.${77}.${(process.pid >> 8) & 0xff}.${(process.pid & 0xfe) + 1}`;
  const services = await startNodeServices(
    await readPlanFile(planFile),
    NODE,
    {
      dns: { listen: [{ address, port: 53 }], http: { address, port: 9153 }, workers: 1 },
      lb: { listenAddress: address, admin: { address, port: 9154 } },
    },
    silentEvents,
  );
  scope.after(() => services.close());
  const stopWatching = watchPlanFile(planFile, () => {
    void readPlanFile(planFile)
      .then((plan) => services.reload(plan))
      .catch(() => undefined);
  });
  scope.after(stopWatching);
  assert.equal(await digA(address, "git.edge.lan"), "10.77.0.30");
  assert.equal(await digA(address, "wiki.edge.lan"), "");

  // A new record in the ConfigMap reaches the host service.
  api.setManifest(withWikiRecord(text));
  await eventually("dig answers the new record", async () =>
    (await digA(address, "wiki.edge.lan")) === "10.77.0.31" ? true : undefined,
  );
  assert.ok(api.eventReasons().filter((e) => e.reason === "Synced").length >= 2);

  // An invalid edit is refused and reported; the node keeps answering with the last good plan.
  const good = await readFile(planFile, "utf8");
  api.setManifest(text.replace("role: agent", "role: captain"));
  await eventually("the refusal is reported", async () =>
    api.eventReasons().some((e) => e.reason === "InvalidConfiguration") ? true : undefined,
  );
  assert.equal(await readFile(planFile, "utf8"), good);
  assert.equal(await digA(address, "wiki.edge.lan"), "10.77.0.31");
});
