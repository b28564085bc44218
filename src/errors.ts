/** A problem the operator can fix: printed as message + hint, exit code 1. */
export class OperatorError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: number = 1;

  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "OperatorError";
    this.hint = options.hint;
  }
}

/** The command line itself was wrong (unknown flag, missing argument): exit code 2. */
export class UsageError extends OperatorError {
  override readonly exitCode = 2;

  constructor(message: string, options: { hint?: string } = {}) {
    super(message, options);
    this.name = "UsageError";
  }
}

export function isOperatorError(error: unknown): error is OperatorError {
  return error instanceof OperatorError;
}

/** Exit code for anything that is not an OperatorError: a bug in airstrap. */
export const EXIT_BUG = 70;
