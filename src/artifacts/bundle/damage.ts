import { basename } from "node:path";
import { OperatorError } from "../../errors.js";

export type DamageKind =
  | "missing-part"
  | "truncated"
  | "extra-bytes"
  | "header"
  | "content"
  | "padding"
  | "end"
  | "index"
  | "signature"
  | "format";

/** A bundle that is not byte for byte what its signed index says: names the entry and the part. */
export class BundleDamageError extends OperatorError {
  constructor(
    readonly kind: DamageKind,
    readonly entry: string | undefined,
    readonly part: string | undefined,
    detail: string,
    hint = "copy this part again from the connected side (or re-create the bundle); nothing was loaded from it",
  ) {
    const where = [
      entry === undefined ? undefined : `entry ${entry}`,
      part === undefined ? undefined : `in ${basename(part)}`,
    ]
      .filter((s) => s !== undefined)
      .join(" ");
    super(`bundle damaged${where === "" ? "" : `: ${where}`}: ${detail}`, { hint });
    this.name = "BundleDamageError";
  }
}
