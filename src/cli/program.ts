import { Command, CommanderError } from "commander";
import { EXIT_BUG, isOperatorError, UsageError } from "../errors.js";
import { InvalidSourceError } from "../manifest/invalid-source.js";
import { VERSION } from "../version.js";
import type { RegisterCommand } from "./commands.js";
import { redactProcessOutput } from "./redacted-output.js";
import { colorsFor, err } from "./terminal.js";
import { formatDiagnostics } from "./views/diagnostics.js";

/** `verbs`: every verb (commands.ts), plus what a separate build carries (the lab's simulated distro). */
export function buildProgram(verbs: RegisterCommand[]): Command {
  const program = new Command("airstrap")
    .description("From a laptop and a USB disk to a highly available Kubernetes cluster in an air-gapped network.")
    .version(VERSION, "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  for (const register of verbs) {
    const command = register(program);
    command.exitOverride();
  }
  return program;
}

/** Runs the CLI and returns the process exit code; never throws. */
export async function runCli(argv: string[], verbs: RegisterCommand[]): Promise<number> {
  redactProcessOutput();
  const program = buildProgram(verbs);
  try {
    await program.parseAsync(argv, { from: "user" });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (error) {
    return reportFailure(error);
  }
}

function reportFailure(error: unknown): number {
  if (error instanceof CommanderError) {
    // Help and version are "errors" to commander but successes to the user.
    if (error.exitCode === 0) return 0;
    return 2;
  }
  const c = colorsFor(process.stderr);
  if (isOperatorError(error)) {
    if (error instanceof InvalidSourceError)
      err(
        formatDiagnostics(
          error.diagnostics,
          error.sourceText === undefined ? undefined : { file: error.file, text: error.sourceText },
          process.stderr,
        ),
      );
    err(`${c.red("error:")} ${error.message}`);
    if (error.hint) err(`${c.dim("hint:")} ${error.hint}`);
    return error instanceof UsageError ? 2 : error.exitCode;
  }
  err(`${c.red("internal error (a bug in airstrap, please report it):")}`);
  err(error instanceof Error ? (error.stack ?? error.message) : String(error));
  return EXIT_BUG;
}
