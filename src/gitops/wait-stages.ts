import { setTimeout as sleep } from "node:timers/promises";
import { OperatorError } from "../errors.js";
import type { Events } from "../events.js";
import type { KubeClient } from "../kube/client.js";
import { FLUX_NAMESPACE } from "./objects.js";
import { formatStageStatus, type StageStatus, stageStatus } from "./stage-status.js";

const KUSTOMIZATIONS = `/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/${FLUX_NAMESPACE}/kustomizations`;

/**
 * Follows the stages' Kustomizations in manifest order until each is Ready at `commit` (the
 * branch head that was pushed), emitting a
 * `gitops.stage` event whenever a stage's view (Ready condition, reason, revision, message)
 * changes. The first stage that fails, or the one still waiting at the deadline, ends the wait
 * with an OperatorError naming it.
 */
export async function waitForStages(
  client: KubeClient,
  stages: readonly string[],
  events: Events,
  options: { timeoutMs: number; intervalMs?: number; commit?: string },
): Promise<StageStatus[]> {
  const deadline = Date.now() + options.timeoutMs;
  const shown = new Map<string, string>();
  const done: StageStatus[] = [];
  for (const stage of stages) {
    for (;;) {
      const response = await client.get(`${KUSTOMIZATIONS}/${encodeURIComponent(stage)}`);
      if (response.status !== 200 && response.status !== 404)
        throw new OperatorError(`cannot read the Kustomization of stage ${stage}: HTTP ${response.status}`);
      const status = stageStatus(
        stage,
        response.status === 200 ? JSON.parse(response.body) : undefined,
        options.commit,
      );
      const line = formatStageStatus(status);
      if (shown.get(stage) !== line) {
        shown.set(stage, line);
        events.emit({
          level: status.state === "failed" ? "error" : "info",
          kind: "gitops.stage",
          phase: `stage ${stage}`,
          message: line,
          detail: { ...status },
        });
      }
      if (status.state === "ready") {
        done.push(status);
        break;
      }
      if (status.state === "failed") {
        throw new OperatorError(`stage ${stage} failed: ${status.reason || "Ready=False"}: ${status.message}`, {
          hint: `kubectl -n ${FLUX_NAMESPACE} describe kustomization ${stage}; fix the stage's folder and run airstrap gitops bootstrap again (it pushes and waits again)`,
        });
      }
      if (Date.now() > deadline) {
        throw new OperatorError(
          `stage ${stage} is not Ready after ${Math.round(options.timeoutMs / 1000)} s: ${status.message}`,
          {
            hint: `kubectl -n ${FLUX_NAMESPACE} get kustomizations,gitrepositories; wait longer with --timeout`,
          },
        );
      }
      await sleep(options.intervalMs ?? 2000);
    }
  }
  return done;
}
