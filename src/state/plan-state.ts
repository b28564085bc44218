import { z } from "zod";
import { OperatorError } from "../errors.js";
import type { PlanState } from "../plan/types.js";
import type { StateDir } from "./state-dir.js";

const STATE_FILE = "state.json";
const planStateSchema = z.object({ initializedPrimary: z.string().optional() });

/** What earlier runs recorded for the planner (for example which server initialised the cluster). */
export async function readPlanState(state: StateDir): Promise<PlanState> {
  const text = await state.read(STATE_FILE);
  if (text === undefined) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new OperatorError(`${state.file(STATE_FILE)} is not valid JSON`, {
      hint: "restore it from a backup, or delete it if the cluster was never installed",
    });
  }
  const parsed = planStateSchema.safeParse(raw);
  if (!parsed.success)
    throw new OperatorError(`${state.file(STATE_FILE)} has an unexpected shape`, {
      hint: "restore it from a backup, or delete it if the cluster was never installed",
    });
  return parsed.data.initializedPrimary === undefined ? {} : { initializedPrimary: parsed.data.initializedPrimary };
}

export async function writePlanState(state: StateDir, planState: PlanState): Promise<void> {
  await state.write(STATE_FILE, `${JSON.stringify(planState, null, 2)}\n`);
}
