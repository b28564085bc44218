/**
 * What a stage's Kustomization says about itself (Flux kustomize.toolkit.fluxcd.io/v1 status):
 * the Ready condition, the revision last applied, and whether that answers the current spec. Pure.
 */
export interface StageStatus {
  stage: string;
  state: "waiting" | "ready" | "failed";
  /** The Ready condition's status: True, False, Unknown, or "" before the controller wrote one. */
  ready: string;
  reason: string;
  message: string;
  /** status.lastAppliedRevision (e.g. main@sha1:…), "" before the first apply. */
  revision: string;
}

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

interface KustomizationView {
  metadata?: { generation?: number };
  status?: {
    observedGeneration?: number;
    lastAppliedRevision?: string;
    lastAttemptedRevision?: string;
    conditions?: Condition[];
  };
}

/** Ready=False reasons that mean "not yet", not "broken": Flux retries them by itself. */
const NOT_YET = new Set(["DependencyNotReady", "Progressing", "ProgressingWithRetry", "ArtifactInStorage"]);

/**
 * `commit`: the branch head bootstrap pushed (or found): a stage is Ready only once it applied that
 * revision (Flux writes `main@sha1:<commit>`, older releases `main/<commit>`), and a failure counts
 * only for that revision or when the controller names none.
 */
export function stageStatus(stage: string, object: KustomizationView | undefined, commit?: string): StageStatus {
  const status = object?.status;
  const conditions = status?.conditions ?? [];
  const ready = conditions.find((c) => c.type === "Ready");
  const stalled = conditions.find((c) => c.type === "Stalled" && c.status === "True");
  const base = {
    stage,
    ready: ready?.status ?? "",
    reason: stalled?.reason ?? ready?.reason ?? "",
    message: stalled?.message ?? ready?.message ?? (object ? "waiting for kustomize-controller" : "not applied yet"),
    revision: status?.lastAppliedRevision ?? "",
  };
  // A status written for an older spec says nothing about this one.
  const generation = object?.metadata?.generation;
  const current =
    generation === undefined || status?.observedGeneration === undefined || status.observedGeneration >= generation;
  if (!current) return { ...base, state: "waiting" };
  const isCommit = (revision: string | undefined) => commit === undefined || (revision ?? "").endsWith(commit);
  const attempted = status?.lastAttemptedRevision;
  const failing = stalled || (ready?.status === "False" && !NOT_YET.has(ready.reason ?? ""));
  if (failing && (attempted === undefined || isCommit(attempted))) return { ...base, state: "failed" };
  if (ready?.status === "True" && isCommit(status?.lastAppliedRevision)) return { ...base, state: "ready" };
  if (ready?.status === "True" && commit !== undefined)
    return { ...base, state: "waiting", message: `waiting for revision ${commit.slice(0, 12)} (${base.message})` };
  return { ...base, state: "waiting" };
}

/** One line for the live view: `cluster-apps  Ready=False  HealthCheckFailed  main@sha1:…  message`. */
export function formatStageStatus(status: StageStatus): string {
  const ready = status.ready === "" ? "Ready=?" : `Ready=${status.ready}`;
  return [status.stage, ready, status.reason, status.revision || "no revision yet", status.message]
    .filter((part) => part !== "")
    .join("  ");
}
