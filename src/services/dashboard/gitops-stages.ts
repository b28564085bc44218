import type { AirstrapEvent } from "../../events.js";
import type { PanelLine } from "./node-panel.js";

/**
 * The hand-over to Flux as the page shows it, from `gitops bootstrap`'s events: the push
 * (`gitops.push`), the objects applied (`gitops.applied`), the webhook (`gitops.webhook`) and one
 * row per stage (`gitops.stage`, whose detail is the wait's view of the stage's Kustomization).
 * Pure. Rows keep the manifest's order; a stage the manifest does not name joins at the end.
 */
export interface StageRow {
  name: string;
  /** From the manifest; absent when the page does not know the stage. */
  dependsOn?: string[];
  /** "pending": this run has not looked at the stage yet. */
  state: "pending" | "waiting" | "ready" | "failed";
  /** The Ready condition in words, e.g. "Ready: Applied revision: main@sha1:…" or "failed: HealthCheckFailed: …". */
  words: string;
  /** The revision the stage last applied (status.lastAppliedRevision), "" before its first apply. */
  revision?: string;
}

export interface GitopsView {
  stages: StageRow[];
  /** The push (pushing, then pushed or nothing to push), the objects applied and the webhook, once heard of. */
  steps: { push?: PanelLine; applied?: PanelLine; webhook?: PanelLine };
  /** The commit the run pushed or found on the branch: the revision every stage must reach. */
  commit?: string;
}

export function initialGitops(stages: ReadonlyArray<{ name: string; dependsOn: string[] }>): GitopsView {
  return { stages: stages.map((s) => pending(s.name, s.dependsOn)), steps: {} };
}

function pending(name: string, dependsOn: string[] | undefined): StageRow {
  return { name, ...(dependsOn === undefined ? {} : { dependsOn }), state: "pending", words: "not checked yet" };
}

/** The view after one more event; the same object when the event is not about the hand-over. */
export function foldGitops(before: GitopsView, event: AirstrapEvent): GitopsView {
  const detail = event.detail ?? {};
  switch (event.kind) {
    case "gitops.push": {
      const commit = typeof detail.commit === "string" ? detail.commit : undefined;
      // The push announced: a run begins, and what an earlier run said of the stages is past.
      if (commit === undefined)
        return {
          stages: before.stages.map((s) => pending(s.name, s.dependsOn)),
          steps: { push: { state: "waiting", text: event.message } },
        };
      return { ...before, commit, steps: { ...before.steps, push: { state: "ok", text: event.message } } };
    }
    case "gitops.applied":
      return { ...before, steps: { ...before.steps, applied: { state: "ok", text: event.message } } };
    case "gitops.webhook":
      return { ...before, steps: { ...before.steps, webhook: { state: "ok", text: event.message } } };
    case "gitops.stage": {
      if (typeof detail.stage !== "string") return before;
      const name = detail.stage;
      const index = before.stages.findIndex((s) => s.name === name);
      const row = stageRow(name, before.stages[index]?.dependsOn, detail);
      return {
        ...before,
        stages: index < 0 ? [...before.stages, row] : before.stages.map((s, i) => (i === index ? row : s)),
      };
    }
    default:
      return before;
  }
}

function stageRow(name: string, dependsOn: string[] | undefined, detail: Record<string, unknown>): StageRow {
  const text = (key: string) => (typeof detail[key] === "string" ? (detail[key] as string) : "");
  const state = detail.state === "ready" || detail.state === "failed" ? detail.state : "waiting";
  // A Ready stage's reason (ReconciliationSucceeded) says nothing its message does not.
  const why = [state === "ready" ? "" : text("reason"), text("message")].filter((part) => part !== "").join(": ");
  const words = { ready: "Ready", failed: "failed", waiting: "not Ready" }[state];
  return {
    name,
    ...(dependsOn === undefined ? {} : { dependsOn }),
    state,
    words: why === "" ? words : `${words}: ${why}`,
    revision: text("revision"),
  };
}
