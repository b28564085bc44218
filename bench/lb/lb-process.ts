/**
 * `airstrap lb` alone, for the benchmark's bundle: the same verb code as the CLI, without the
 * other verbs' dependencies (native modules such as ssh2's cannot go into a bundle).
 */
import { Command } from "commander";
import { registerLb } from "../../src/cli/lb.js";

const program = new Command("airstrap");
registerLb(program);
program.parseAsync(process.argv.slice(2), { from: "user" }).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
