import assert from "node:assert/strict";
import { copyFile, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { example, tempDir } from "../helpers/cli.js";
import { socketInodes, udpSocketInode } from "../helpers/proc-sockets.js";
import { planJsonOf } from "../node-agent/harness.js";
import { startAirstrapNode } from "../peers/airstrap-node.js";
import { buildSingleExecutable } from "../peers/airstrap-sea.js";
import { dig } from "../peers/dig.js";
import { digLoopFigures, startDigLoop, TWENTY_A_SECOND_ONE_RETRY } from "../peers/dig-loop.js";

const NODE = "k8s-agent-01";

test("a replaced executable takes the node service's sockets over: a dig loop (20/s, one retry) across it loses no query", async (t) => {
  const dir = await tempDir(t, "airstrap-handover-");
  const sea = buildSingleExecutable();
  t.after(() => sea.remove());
  const bin = join(dir, "bin");
  await mkdir(bin);
  const executable = join(bin, "airstrap");
  await copyFile(sea.path, executable);
  const planFile = join(dir, "plan.json");
  await writeFile(planFile, planJsonOf(await readFile(example("rke2-ha.yaml"), "utf8")));

  // Its own loopback address: the plan's LB ports (6443, 9345) are free there.
  const address = `127.88.${(process.pid >> 8) & 0xff}.${(process.pid & 0xfe) + 1}`;
  const dnsPort = 15353;
  // The machine is shared with other heavy work: as root, the service under test and its digs run
  // ahead of it (nice -10), so that what is measured is the hand-over, not the neighbours.
  const nice = process.getuid?.() === 0 ? -10 : 0;
  const old = await startAirstrapNode(t, {
    executable,
    planFile,
    node: NODE,
    address,
    dnsPort,
    probe: "git.edge.lan",
    nice,
  });

  const loop = startDigLoop({
    address,
    port: dnsPort,
    name: "git.edge.lan",
    expected: "10.77.0.30",
    ...TWENTY_A_SECOND_ONE_RETRY,
    maxQueries: 4000,
    maxSeconds: 200,
    nice,
  });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const socketBefore = await udpSocketInode(address, dnsPort);
  assert.ok((await socketInodes(old.pid)).includes(socketBefore!), "the first process holds the DNS socket");
  // What the node agent does: the new executable beside the old, then renamed over it.
  const replacedAt = performance.now();
  await copyFile(sea.path, join(bin, ".airstrap.new"));
  await rename(join(bin, ".airstrap.new"), executable);
  const successor = await old.handedOver(180_000);
  assert.equal(await old.exited, 0, old.stderr());
  const handedOverMs = Math.round(performance.now() - replacedAt);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const samples = await loop.stop();
  const figures = digLoopFigures(samples);
  t.diagnostic(`hand-over ${handedOverMs} ms after the rename; ${JSON.stringify(figures)}`);
  // Where the failures fall: before the rename, while the successor starts, after it took over.
  const renamedAtWall = Date.now() - (performance.now() - replacedAt);
  const phase = (at: number) =>
    at < renamedAtWall ? "before" : at < renamedAtWall + handedOverMs ? "during" : "after";
  const byPhase: Record<string, { queries: number; failures: number }> = {};
  for (const sample of samples) {
    const key = phase(sample.startedAt);
    const entry = byPhase[key] ?? { queries: 0, failures: 0 };
    byPhase[key] = entry;
    entry.queries++;
    if (!sample.ok) entry.failures++;
  }
  t.diagnostic(`by phase: ${JSON.stringify(byPhase)}`);

  assert.ok(figures.queries >= 40, `only ${figures.queries} queries ran`);
  assert.equal(figures.failures, 0, `${figures.failures} of ${figures.queries} queries failed`);
  // The successor serves alone now, on the very sockets the old process had: they never closed.
  process.kill(successor, 0);
  assert.equal(
    await udpSocketInode(address, dnsPort),
    socketBefore,
    "the DNS socket is the one the first process bound",
  );
  assert.ok((await socketInodes(successor)).includes(socketBefore!), "the successor holds it");
  assert.equal((await dig({ address, port: dnsPort }, "git.edge.lan")).answer[0]?.data, "10.77.0.30");
  assert.match(old.stderr(), /changed: handing over/);
  // The node's status listener came along too: the successor answers on the same port.
  const status = await fetch(`http://${address}:9155/healthz`);
  assert.ok(status.status === 200 || status.status === 503, `status listener answered ${status.status}`);
});
