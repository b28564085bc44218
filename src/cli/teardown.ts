import type { Command } from "commander";
import { teardownServe } from "../serve/teardown.js";
import { openStateDir, stateDirBeside } from "../state/state-dir.js";
import { manifestOption, stateDirOption } from "./common.js";
import { out } from "./terminal.js";

/** `airstrap teardown`: stops what `airstrap serve` started for this site, wherever it runs. */
export function registerTeardown(program: Command): Command {
  const command = program
    .command("teardown")
    .description(
      "stop the boot services airstrap serve started for this site (in the foreground, background or a container)",
    );
  return stateDirOption(manifestOption(command))
    .option("--timeout <seconds>", "how long to wait for the boot services to stop", "30")
    .action(async (flags: { file: string; stateDir?: string; timeout: string }) => {
      const state = await openStateDir(flags.stateDir ?? stateDirBeside(flags.file));
      const result = await teardownServe(state, Number(flags.timeout) * 1000);
      out(result);
    });
}
