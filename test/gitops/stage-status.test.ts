import assert from "node:assert/strict";
import { test } from "node:test";
import { formatStageStatus, stageStatus } from "../../src/gitops/stage-status.js";

const kustomization = (generation: number, status: Record<string, unknown>) => ({ metadata: { generation }, status });
const ready = (s: string, reason: string, message = "") => ({ type: "Ready", status: s, reason, message });

test("a stage is Ready only when Ready=True answers its current generation", () => {
  assert.equal(stageStatus("a", undefined).state, "waiting");
  assert.equal(stageStatus("a", kustomization(1, {})).state, "waiting");
  const done = stageStatus(
    "a",
    kustomization(2, {
      observedGeneration: 2,
      lastAppliedRevision: "main@sha1:abc",
      conditions: [ready("True", "ReconciliationSucceeded", "Applied revision: main@sha1:abc")],
    }),
  );
  assert.deepEqual([done.state, done.revision, done.reason], ["ready", "main@sha1:abc", "ReconciliationSucceeded"]);
  assert.equal(
    stageStatus("a", kustomization(3, { observedGeneration: 2, conditions: [ready("True", "x")] })).state,
    "waiting",
    "an older generation's Ready says nothing",
  );
});

test("Ready=False fails a stage unless Flux is still waiting on a dependency or progressing; Stalled fails it", () => {
  assert.equal(
    stageStatus("a", kustomization(1, { observedGeneration: 1, conditions: [ready("False", "DependencyNotReady")] }))
      .state,
    "waiting",
  );
  assert.equal(
    stageStatus("a", kustomization(1, { observedGeneration: 1, conditions: [ready("Unknown", "Progressing")] })).state,
    "waiting",
  );
  const failed = stageStatus(
    "a",
    kustomization(1, {
      observedGeneration: 1,
      conditions: [ready("False", "HealthCheckFailed", "timeout waiting for: [Deployment/x]")],
    }),
  );
  assert.deepEqual([failed.state, failed.message], ["failed", "timeout waiting for: [Deployment/x]"]);
  assert.equal(
    stageStatus(
      "a",
      kustomization(1, {
        conditions: [
          ready("Unknown", "Progressing"),
          { type: "Stalled", status: "True", reason: "BuildFailed", message: "kustomize build failed" },
        ],
      }),
    ).reason,
    "BuildFailed",
  );
  assert.equal(
    formatStageStatus(failed),
    "a  Ready=False  HealthCheckFailed  no revision yet  timeout waiting for: [Deployment/x]",
  );
});

test("with the pushed commit, a stage is Ready only at that revision; an older revision's failure is not this one's", () => {
  const commit = "0123456789abcdef0123456789abcdef01234567";
  const older = "main@sha1:ffffffffffffffffffffffffffffffffffffffff";
  const at = (applied: string, attempted: string, condition: ReturnType<typeof ready>) =>
    stageStatus(
      "a",
      kustomization(1, {
        observedGeneration: 1,
        lastAppliedRevision: applied,
        lastAttemptedRevision: attempted,
        conditions: [condition],
      }),
      commit,
    );
  const stale = at(older, older, ready("True", "ReconciliationSucceeded", "Applied revision: x"));
  assert.equal(stale.state, "waiting");
  assert.match(stale.message, /waiting for revision 0123456789ab/);
  assert.equal(
    at(`main@sha1:${commit}`, `main@sha1:${commit}`, ready("True", "ReconciliationSucceeded")).state,
    "ready",
  );
  assert.equal(
    at(`main/${commit}`, `main/${commit}`, ready("True", "ReconciliationSucceeded")).state,
    "ready",
    "the older revision format",
  );
  assert.equal(
    at(older, older, ready("False", "BuildFailed")).state,
    "waiting",
    "the failure was the older revision's",
  );
  assert.equal(at(older, `main@sha1:${commit}`, ready("False", "BuildFailed")).state, "failed");
});
