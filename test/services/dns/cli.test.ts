import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { dig } from "../../peers/dig.js";
import { freePort } from "../../peers/unbound.js";
import { ONE_NODE_FLAGS } from "./processes.js";

const ROOT = new URL("../../../", import.meta.url).pathname;
const EXAMPLE = `${ROOT}examples/rke2-ha.yaml`;

function airstrap(args: string[]) {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: "1" },
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = once(child, "exit").then(([code]) => ({ code: code as number, stderr }));
  return { child, exited, stderr: () => stderr };
}

async function waitFor(predicate: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(predicate(), `timed out waiting for ${what}`);
}

test("airstrap dns -f cluster.yaml --node NAME --listen ADDR:PORT serves the node's view until SIGTERM", async (t) => {
  const port = await freePort("127.0.0.99");
  const run = airstrap(["dns", "-f", EXAMPLE, "--node", "k8s-server-03", "--listen", `127.0.0.99:${port}`]);
  t.after(() => run.child.kill("SIGKILL"));
  await waitFor(() => run.stderr().includes("DNS listening on"), "the server to listen");
  const out = await dig(`127.0.0.99:${port}`, "edge-cluster.edge.lan");
  assert.deepEqual(
    out.answer.map((r) => r.data),
    ["10.77.0.13"],
  );
  run.child.kill("SIGTERM");
  assert.equal((await run.exited).code, 0);
});

test("airstrap dns flag form, without a manifest", async (t) => {
  const port = await freePort("127.0.0.99");
  const run = airstrap([
    "dns",
    "--domain",
    "site.lan",
    "--node-name",
    "n1",
    "--node-address",
    "10.9.0.10",
    "--record",
    "git A 10.9.0.20",
    "--listen",
    `127.0.0.99:${port}`,
  ]);
  t.after(() => run.child.kill("SIGKILL"));
  await waitFor(() => run.stderr().includes("DNS listening on"), "the server to listen");
  assert.deepEqual(
    (await dig(`127.0.0.99:${port}`, "git.site.lan")).answer.map((r) => r.data),
    ["10.9.0.20"],
  );
  assert.deepEqual(
    (await dig(`127.0.0.99:${port}`, "n1.site.lan", "A", ["+tcp"])).answer.map((r) => r.data),
    ["10.9.0.10"],
  );
  run.child.kill("SIGINT");
  assert.equal((await run.exited).code, 0);
});

test("mistakes are explained, without a stack trace", async () => {
  const noNode = await airstrap(["dns", "-f", EXAMPLE]).exited;
  assert.equal(noNode.code, 2);
  assert.match(noNode.stderr, /error: say which node this is/);
  const unknownNode = await airstrap(["dns", "-f", EXAMPLE, "--node", "nope", "--listen", "127.0.0.99:0"]).exited;
  assert.equal(unknownNode.code, 1);
  assert.match(
    unknownNode.stderr,
    /error: node nope is not a host of cluster edge\nhint: --node is one of: k8s-server-01/,
  );
  const badRecord = await airstrap(["dns", ...ONE_NODE_FLAGS, "--record", "x MX y"]).exited;
  assert.equal(badRecord.code, 2);
  assert.match(badRecord.stderr, /error: --record "x MX y": expected "NAME TYPE VALUE"/);
  for (const result of [noNode, unknownNode, badRecord]) assert.doesNotMatch(result.stderr, /\n\s+at /);
});

test("a port already in use is an operator error with a hint", async (t) => {
  const port = await freePort("127.0.0.99");
  const first = airstrap(["dns", ...ONE_NODE_FLAGS, "--listen", `127.0.0.99:${port}`]);
  t.after(() => first.child.kill("SIGKILL"));
  await waitFor(() => first.stderr().includes("DNS listening on"), "the first server");
  const second = await airstrap(["dns", ...ONE_NODE_FLAGS, "--listen", `127.0.0.99:${port}`]).exited;
  assert.equal(second.code, 1);
  assert.match(second.stderr, new RegExp(`error: DNS cannot listen on 127\\.0\\.0\\.99:${port}: .*EADDRINUSE`));
  assert.match(second.stderr, /hint: another DNS server may hold that port/);
  first.child.kill("SIGTERM");
  await first.exited;
});
