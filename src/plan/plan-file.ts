import { readFile } from "node:fs/promises";
import { OperatorError } from "../errors.js";
import type { Plan } from "./types.js";

/**
 * Reads a plan written by `airstrap generate` (shipped to nodes as /etc/airstrap/plan.json).
 * It is airstrap's own output, so the check is for damage, not for every field.
 */
export async function readPlanFile(path: string): Promise<Plan> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new OperatorError(`${path}: ${code === "ENOENT" ? "no such file" : (error as Error).message}`, {
      hint: "airstrap generate writes the plan; airstrap install puts it at /etc/airstrap/plan.json",
    });
  }
  let plan: Partial<Plan>;
  try {
    plan = JSON.parse(text) as Partial<Plan>;
  } catch (error) {
    throw new OperatorError(`${path}: not valid JSON (${(error as Error).message})`, {
      hint: "generate it again with airstrap generate",
    });
  }
  const missing = (["name", "domain", "clusterFqdn", "hosts", "dns", "loadBalancer", "registry"] as const).filter(
    (key) => plan[key] === undefined,
  );
  if (missing.length > 0 || !Array.isArray(plan.hosts)) {
    throw new OperatorError(`${path}: not an airstrap plan (missing ${missing.join(", ") || "hosts"})`, {
      hint: "generate it again with airstrap generate",
    });
  }
  return plan as Plan;
}
