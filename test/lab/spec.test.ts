import assert from "node:assert/strict";
import { test } from "node:test";
import { OperatorError } from "../../src/errors.js";
import { checkLabSpec, type LabSpec, labSubnets } from "../../src/lab/spec.js";

const spec: LabSpec = {
  name: "edge",
  bootstrapAddress: "10.77.0.1",
  hosts: [
    { name: "a", address: "10.77.0.11", role: "server", sshUser: "root", sshPort: 22 },
    { name: "b", address: "10.77.1.12", role: "agent", sshUser: "airstrap", sshPort: 2222 },
  ],
};

const refuses = (changed: LabSpec, pattern: RegExp) =>
  assert.throws(
    () => checkLabSpec(changed, "cluster.yaml"),
    (error: unknown) => error instanceof OperatorError && pattern.test(error.message) && error.hint !== undefined,
  );

test("a private site is accepted and routed by /24", () => {
  checkLabSpec(spec, "cluster.yaml");
  assert.deepEqual(labSubnets(spec), ["10.77.0.0/24", "10.77.1.0/24"]);
});

test("what the lab refuses, each with a hint", () => {
  refuses({ ...spec, bootstrapAddress: "8.8.8.1" }, /8\.8\.8\.1 is not a private IPv4 address/);
  refuses({ ...spec, hosts: [{ ...spec.hosts[0]!, address: "10.77.0.1" }] }, /10\.77\.0\.1 is used twice/);
  refuses({ ...spec, name: "Edge Lab" }, /cannot name a lab/);
  refuses({ ...spec, hosts: [{ ...spec.hosts[0]!, sshUser: "Root!" }] }, /cannot be created as an account/);
  refuses({ ...spec, hosts: [] }, /spec\.hosts is empty/);
});
