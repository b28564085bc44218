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
