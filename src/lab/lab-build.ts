import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { OperatorError } from "../errors.js";
import { runningAsSingleExecutable } from "../single-executable.js";

/**
 * How to run the lab build of airstrap (`airstrap-lab`): the only build that carries the
 * simulated distro and the lab's release mirror (`airstrap-lab lab-distro …`). It sits beside the
 * airstrap that runs the lab: `airstrap-lab` next to the executable, `airstrap-lab.cjs` next to
 * the bundle (scripts/build.mjs writes both), `lab-main.ts` next to `main.ts` in the source.
 * `AIRSTRAP_LAB_BUILD` names another one.
 */
export function labBuildCommand(): string[] {
  const node = [process.execPath, ...process.execArgv];
  const override = process.env.AIRSTRAP_LAB_BUILD;
  const candidate = override
    ? override
    : runningAsSingleExecutable()
      ? join(dirname(process.execPath), "airstrap-lab")
      : besideScript(process.argv[1] ?? "");
  if (!existsSync(candidate)) {
    throw new OperatorError(`the lab build of airstrap is missing: ${candidate}`, {
      hint: "build it with `node scripts/build.mjs` (and `scripts/dist.sh` for an executable), or set AIRSTRAP_LAB_BUILD",
    });
  }
  if (candidate.endsWith(".ts")) return [...node, candidate];
  return /\.c?js$/.test(candidate) ? [process.execPath, candidate] : [candidate];
}

function besideScript(script: string): string {
  if (script.endsWith(".ts")) return join(dirname(script), "lab-main.ts");
  // build/airstrap.cjs, or bin/airstrap.js which loads ../build/airstrap.cjs.
  const build = script.endsWith(".cjs") ? dirname(script) : join(dirname(script), "..", "build");
  return join(build, "airstrap-lab.cjs");
}
