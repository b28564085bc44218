import { OperatorError } from "../errors.js";
import type { Diagnostic } from "./diagnostics.js";

/** A file the operator wrote (a manifest, a template) with errors: printed as its diagnostics, then a summary. */
export class InvalidSourceError extends OperatorError {
  constructor(
    readonly file: string,
    readonly diagnostics: Diagnostic[],
    readonly sourceText: string | undefined,
    hint: string,
  ) {
    const errors = diagnostics.filter((d) => d.severity === "error").length;
    super(`${file}: ${errors} error${errors === 1 ? "" : "s"}`, { hint });
    this.name = "InvalidSourceError";
  }
}
