import type { Command } from "commander";
import { manifestOption, outputFormatOption, planFromManifestFile } from "./common.js";
import { out } from "./terminal.js";
import { formatPlan } from "./views/plan.js";

export function registerPlan(program: Command): Command {
  const command = program
    .command("plan")
    .description("show what airstrap would do: primary, join order, endpoints, files per host");
  manifestOption(command);
  outputFormatOption(command);
  return command.action(async (options: { file: string; output: "text" | "json" }) => {
    const { plan } = await planFromManifestFile(options.file);
    out(options.output === "json" ? JSON.stringify(plan, null, 2) : formatPlan(plan, process.stdout));
  });
}
