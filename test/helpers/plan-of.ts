import assert from "node:assert/strict";
import { validateManifestText } from "../../src/manifest/validate.js";
import { planCluster } from "../../src/plan/plan.js";
import type { Plan } from "../../src/plan/types.js";

/** The plan of a manifest given as text; a manifest that does not validate fails the test with its diagnostics. */
export function planOf(text: string, file = "cluster.yaml"): Plan {
  const result = validateManifestText(text, file, {});
  assert.ok(result.manifest, JSON.stringify(result.diagnostics));
  return planCluster(result.manifest);
}

/** The plan of an rke2 site named edge in edge.lan with these hosts; `spec` adds lines under spec (indented two spaces). */
export function edgePlan(hosts: Array<{ name: string; address: string; role: "server" | "agent" }>, spec = ""): Plan {
  return planOf(`apiVersion: airstrap.io/v1alpha1
kind: Cluster
metadata: { name: edge }
spec:
  domain: edge.lan
  distro: { name: rke2, version: v1.31.4+rke2r1 }
  hosts:
${hosts.map((h) => `    - { name: ${h.name}, address: ${h.address}, role: ${h.role} }`).join("\n")}
${spec}`);
}
