import assert from "node:assert/strict";
import { test } from "node:test";
import type { AirstrapEvent } from "../../../src/events.js";
import { foldGitops, type GitopsView, initialGitops } from "../../../src/services/dashboard/gitops-stages.js";
import { foldEvent, initialPageState } from "../../../src/services/dashboard/page-state.js";
import { HOSTS, handOverOf, readyAt, STAGES, stageEvent } from "./fixture.js";

const COMMIT = "5f0c2a9e1b7d43c8a6e2f1d0b9c8a7e6f5d4c3b2";
const FIXED = "9a8b7c6d5e4f30211203f4e5d6c7b8a9f0e1d2c3";

const fold = (events: AirstrapEvent[], from: GitopsView = initialGitops(STAGES)) => events.reduce(foldGitops, from);

/** Each row as the page reads it: name, depends on, revision, Ready in words. */
const rows = (view: GitopsView) =>
  view.stages.map((s) => [s.name, s.dependsOn?.join(",") ?? "?", s.revision ?? "", s.state, s.words]);

const notReadyYet = (stage: string) =>
  stageEvent(stage, "waiting", {
    ready: "False",
    reason: "DependencyNotReady",
    message: "dependency 'flux-system/bootstrap' is not ready",
    revision: "",
  });

const healthCheckFailed = stageEvent("cluster-base-apps", "failed", {
  ready: "False",
  reason: "HealthCheckFailed",
  message: "timeout waiting for: [Deployment/vault/vault status: 'InProgress']",
  revision: "",
});

test("before any event the manifest's stages are listed in its order, with their dependsOn, not checked yet", () => {
  assert.deepEqual(rows(initialGitops(STAGES)), [
    ["bootstrap", "", "", "pending", "not checked yet"],
    ["cluster-base-apps", "bootstrap", "", "pending", "not checked yet"],
    ["cluster-apps", "cluster-base-apps", "", "pending", "not checked yet"],
  ]);
  assert.deepEqual(initialGitops(STAGES).steps, {});
});

test("a whole hand-over: the push, the objects, the webhook, each stage waiting then Ready at the pushed revision", () => {
  const view = fold([
    ...handOverOf(COMMIT),
    stageEvent("bootstrap", "waiting", { ready: "", reason: "", message: "not applied yet", revision: "" }),
    readyAt("bootstrap", COMMIT),
    notReadyYet("cluster-base-apps"),
    readyAt("cluster-base-apps", COMMIT),
    readyAt("cluster-apps", COMMIT),
  ]);
  assert.equal(view.commit, COMMIT);
  assert.deepEqual(view.steps, {
    push: { state: "ok", text: `pushed ${COMMIT.slice(0, 12)} to main` },
    applied: { state: "ok", text: "31 objects: 31 created or changed, 0 unchanged" },
    webhook: { state: "ok", text: "git server webhook: http://10.77.0.11:30090/hook/0123abcd" },
  });
  const revision = `main@sha1:${COMMIT}`;
  assert.deepEqual(rows(view), [
    ["bootstrap", "", revision, "ready", `Ready: Applied revision: ${revision}`],
    ["cluster-base-apps", "bootstrap", revision, "ready", `Ready: Applied revision: ${revision}`],
    ["cluster-apps", "cluster-base-apps", revision, "ready", `Ready: Applied revision: ${revision}`],
  ]);
});

test("while a stage waits its row says why in words; before the push lands, the push reads as under way", () => {
  const [announced] = handOverOf(COMMIT);
  const view = fold([announced as AirstrapEvent, notReadyYet("cluster-base-apps")]);
  assert.deepEqual(view.steps, {
    push: { state: "waiting", text: "pushing 3 stage folders to http://10.77.0.1:8480/edge.git" },
  });
  assert.deepEqual(rows(view)[1], [
    "cluster-base-apps",
    "bootstrap",
    "",
    "waiting",
    "not Ready: DependencyNotReady: dependency 'flux-system/bootstrap' is not ready",
  ]);
});

test("a failing stage reads failed with its reason and message; the stages after it stay unchecked", () => {
  const view = fold([...handOverOf(COMMIT), readyAt("bootstrap", COMMIT), healthCheckFailed]);
  assert.deepEqual(
    rows(view).map(([name, , , state, words]) => [name, state, words]),
    [
      ["bootstrap", "ready", `Ready: Applied revision: main@sha1:${COMMIT}`],
      [
        "cluster-base-apps",
        "failed",
        "failed: HealthCheckFailed: timeout waiting for: [Deployment/vault/vault status: 'InProgress']",
      ],
      ["cluster-apps", "pending", "not checked yet"],
    ],
  );
});

test("a re-run starts over: its push clears the last run's stage rows, then they reach the new revision", () => {
  const failed = fold([...handOverOf(COMMIT), readyAt("bootstrap", COMMIT), healthCheckFailed]);
  const [announced, ...pushed] = handOverOf(FIXED);
  const restarted = foldGitops(failed, announced as AirstrapEvent);
  assert.deepEqual(
    restarted.stages.map((s) => [s.name, s.state, s.revision]),
    STAGES.map((s) => [s.name, "pending", undefined]),
  );
  assert.equal(restarted.steps.push?.state, "waiting");
  assert.equal(restarted.steps.webhook, undefined, "the last run's webhook line is gone with it");
  const fixed = fold([...pushed, readyAt("bootstrap", FIXED), readyAt("cluster-base-apps", FIXED)], restarted);
  assert.equal(fixed.commit, FIXED);
  assert.deepEqual(
    fixed.stages.map((s) => [s.name, s.state, s.revision]),
    [
      ["bootstrap", "ready", `main@sha1:${FIXED}`],
      ["cluster-base-apps", "ready", `main@sha1:${FIXED}`],
      ["cluster-apps", "pending", undefined],
    ],
  );
});

test("without the manifest's stages, rows come in the order the events name them, dependsOn unknown", () => {
  const view = fold([readyAt("infra", COMMIT), readyAt("apps", COMMIT), readyAt("infra", FIXED)], initialGitops([]));
  assert.deepEqual(
    view.stages.map((s) => [s.name, s.dependsOn, s.revision]),
    [
      ["infra", undefined, `main@sha1:${FIXED}`],
      ["apps", undefined, `main@sha1:${COMMIT}`],
    ],
  );
});

test("in the page state: stage events fill the GitOps rows and leave the hosts alone, even a failing one", () => {
  const state = [...handOverOf(COMMIT), readyAt("bootstrap", COMMIT), healthCheckFailed].reduce(
    foldEvent,
    initialPageState("edge", HOSTS, STAGES),
  );
  assert.deepEqual(
    state.gitops.stages.map((s) => s.state),
    ["ready", "failed", "pending"],
  );
  assert.ok(state.hosts.every((h) => h.lastError === undefined && h.timeline.length === 0));
  assert.equal(state.run.outcome, "running", "the run's end is run.end's to say");
});
