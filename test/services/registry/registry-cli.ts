/**
 * `airstrap registry …` with only the registry verb registered, so tests that need a separate
 * process (kill -9, the CLI round trip) do not depend on every other verb's module graph.
 */
import { Command } from "commander";
import { registerRegistry } from "../../../src/cli/registry.js";
import { isOperatorError } from "../../../src/errors.js";

const program = new Command("airstrap").exitOverride();
registerRegistry(program);
program.parseAsync(process.argv.slice(2), { from: "user" }).catch((error: unknown) => {
  if (isOperatorError(error)) {
    process.stderr.write(`error: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ""}`);
    process.exit(error.exitCode);
  }
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exit(70);
});
