import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chown, copyFile, mkdir, readFile, readlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { IMAGE_USER } from "../../src/image/rootfs.js";
import { socketInodes, udpSocketInode } from "../helpers/proc-sockets.js";
import { startAirstrapNode } from "../peers/airstrap-node.js";
import { buildSingleExecutable } from "../peers/airstrap-sea.js";
import { startContainerd } from "../peers/containerd.js";
import { digLoopFigures, startDigLoop, TWENTY_A_SECOND_ONE_RETRY } from "../peers/dig-loop.js";
import { containerdTest, eventually, imageAndSite, planJsonOf, runAgentContainer } from "./harness.js";

const NODE = "k8s-agent-01";
const OLD = "0.1.0-upgrade.1";
const NEW = "0.1.0-upgrade.2";

const sha256Of = async (file: string) =>
  createHash("sha256")
    .update(await readFile(file))
    .digest("hex");

test("the agent from a newer image, under real containerd, upgrades the host's older airstrap node while it serves: a dig loop (20/s, one retry) loses no query", async (t) => {
  const started = await containerdTest(t, "airstrap-upgrade-image-");
  if (!started) return;
  const { scope, work } = started;
  // The same source built twice, reporting two versions: the host runs the older, the image holds the newer.
  const older = buildSingleExecutable("src/cli/main.ts", { version: OLD });
  scope.after(() => older.remove());
  const newer = buildSingleExecutable("src/cli/main.ts", { version: NEW });
  scope.after(() => newer.remove());
  const { image, api, text, account } = await imageAndSite(scope, work, newer.path, NEW);
  // The host's /etc/airstrap and /usr/local/bin. The agent runs here as the image's user (ctr run
  // has no --user; the DaemonSet runs it as root, the owner of both): that user owns them instead,
  // and the old executable too (fs.protected_hardlinks: airstrap.previous is a hard link to it).
  const hostConfig = join(work, "etc-airstrap");
  const hostBin = join(work, "usr-local-bin");
  for (const dir of [hostConfig, hostBin]) {
    await mkdir(dir, { mode: 0o755 });
    await chown(dir, IMAGE_USER.uid, IMAGE_USER.gid);
  }
  const planFile = join(hostConfig, "plan.json");
  await writeFile(planFile, planJsonOf(text));
  const hostExecutable = join(hostBin, "airstrap");
  await copyFile(older.path, hostExecutable);
  await chown(hostExecutable, IMAGE_USER.uid, IMAGE_USER.gid);

  // airstrap-node on the host, from the older executable, on a loopback address of its own.
  const address = `127.79.${(process.pid >> 8) & 0xff}.${(process.pid & 0xfe) + 1}`;
  const dnsPort = 53;
  const nice = -10;
  const host = await startAirstrapNode(scope, {
    executable: hostExecutable,
    planFile,
    node: NODE,
    address,
    dnsPort,
    probe: "git.edge.lan",
    nice,
  });
  const socketBefore = await udpSocketInode(address, dnsPort);
  assert.ok((await socketInodes(host.pid)).includes(socketBefore!), "the old process holds the DNS socket");

  const loop = startDigLoop({
    address,
    port: dnsPort,
    name: "git.edge.lan",
    expected: "10.77.0.30",
    ...TWENTY_A_SECOND_ONE_RETRY,
    maxQueries: 6000,
    maxSeconds: 290,
    nice,
  });
  scope.after(() => loop.stop());
  await sleep(1000);
  const containerd = await startContainerd(scope);
  await containerd.ctr(["images", "import", image.archive]);
  await runAgentContainer(containerd, {
    image: `docker.io/airstrap/airstrap:${NEW}`,
    id: "airstrap-agent-upgrade",
    serviceAccount: account,
    hostConfig,
    hostBin,
    node: NODE,
    nodeAddress: address,
    apiPort: api.port,
  });

  const successor = await host.handedOver(240_000);
  assert.equal(await host.exited, 0, host.stderr());
  const reported = await eventually(
    "the node's status ConfigMap reports the new host version",
    async () => {
      const data = api.statusOf(NODE).data;
      return data?.hostVersion === NEW ? data : undefined;
    },
    600,
  );
  await sleep(2000);
  const figures = digLoopFigures(await loop.stop());
  t.diagnostic(`old pid ${host.pid} → successor ${successor}; dig ${JSON.stringify(figures)}`);

  // The host's executable is the image's, the old one kept beside it.
  assert.equal(await sha256Of(hostExecutable), await sha256Of(newer.path), "the host runs the image's executable");
  assert.equal(
    await sha256Of(`${hostExecutable}.previous`),
    await sha256Of(older.path),
    "airstrap.previous is the old",
  );
  // The successor serves from it, on the very DNS socket the old process bound.
  assert.equal(await readlink(`/proc/${successor}/exe`), hostExecutable);
  assert.equal(await udpSocketInode(address, dnsPort), socketBefore, "the DNS socket never closed");
  assert.ok((await socketInodes(successor)).includes(socketBefore!), "the successor holds it");
  assert.match(host.stderr(), new RegExp(`handed over to pid ${successor} \\(airstrap ${NEW}\\)`));
  // What the cluster sees.
  assert.equal(reported.agentVersion, NEW);
  assert.equal(reported.state, "Serving");
  assert.ok(
    api.eventReasons().some((e) => e.reason === "HostUpgraded" && e.message.includes(`${OLD} → ${NEW}`)),
    JSON.stringify(api.eventReasons()),
  );
  assert.ok(figures.queries >= 40, `only ${figures.queries} queries ran`);
  assert.equal(figures.failures, 0, `${figures.failures} of ${figures.queries} queries failed`);
});
