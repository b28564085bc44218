import assert from "node:assert/strict";
import { test } from "node:test";
import { NODE_STATUS_PORT, nodeStatusConfigFromPlan } from "../../../src/services/node-status/config.js";
import { edgePlan } from "../../helpers/plan-of.js";

function plan(dns = "") {
  return edgePlan(
    [
      { name: "s1", address: "10.77.0.11", role: "server" },
      { name: "a1", address: "10.77.0.21", role: "agent" },
    ],
    `  bootstrap: { address: 192.168.5.1 }\n${dns}`,
  );
}

test("the status listener sits on the node's own address, readable from the site, the bootstrap machine and the node", () => {
  const config = nodeStatusConfigFromPlan(plan(), "a1");
  assert.deepEqual(config.listen, { address: "10.77.0.21", port: NODE_STATUS_PORT });
  assert.deepEqual(config.allowedNetworks, [
    "10.77.0.0/24",
    "192.168.5.0/24",
    "127.0.0.0/8",
    "::1/128",
    "192.168.5.1/32",
  ]);
});

test("networks the manifest narrows still let the bootstrap machine and the node itself read", () => {
  const config = nodeStatusConfigFromPlan(plan("  dns: { allowedNetworks: [10.77.0.0/28] }\n"), "s1");
  assert.deepEqual(config.allowedNetworks, ["10.77.0.0/28", "192.168.5.1/32", "127.0.0.0/8", "::1/128"]);
});
