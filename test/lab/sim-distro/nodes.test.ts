import assert from "node:assert/strict";
import { test } from "node:test";
import { NODE_GRACE_MS, nodeObject, nodeWithReadiness, parseTaint } from "../../../src/lab/sim-distro/nodes.js";

test("a node is Ready while it heartbeats and Unknown after the grace period", () => {
  const seen = new Date("2026-01-01T00:00:00Z");
  const node = nodeObject(
    { name: "a", address: "10.0.0.1", role: "agent", labels: {}, taints: [], version: "v1" },
    seen,
  );
  const at = (ms: number) =>
    (nodeWithReadiness(node, new Date(seen.getTime() + ms)).status as { conditions: Array<{ status: string }> })
      .conditions[0]!.status;
  assert.equal(at(0), "True");
  assert.equal(at(NODE_GRACE_MS - 1), "True");
  assert.equal(at(NODE_GRACE_MS), "Unknown");
});

test("taints read as the distro's node-taint option writes them", () => {
  assert.deepEqual(parseTaint("dedicated=gpu:NoSchedule"), { key: "dedicated", value: "gpu", effect: "NoSchedule" });
  assert.deepEqual(parseTaint("critical:NoExecute"), { key: "critical", effect: "NoExecute" });
});
