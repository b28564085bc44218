import { DIGEST_ALGORITHMS } from "../../store/digest.js";

/** The distribution spec's error codes, each with the HTTP status it travels with. */
export const ERROR_STATUS = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** A refusal the client caused; rendered as `{"errors":[{code,message,detail}]}`. */
export class RegistryError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: { status?: number; detail?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = "RegistryError";
    this.status = options.status ?? ERROR_STATUS[code];
    this.detail = options.detail;
    this.headers = options.headers ?? {};
  }

  readonly detail: unknown;
  readonly headers: Record<string, string>;

  body(): string {
    const entry: Record<string, unknown> = { code: this.code, message: this.message };
    if (this.detail !== undefined) entry.detail = this.detail;
    return JSON.stringify({ errors: [entry] });
  }
}

/** The refusal of a digest that is malformed or of an algorithm airstrap does not store. */
export function invalidDigest(value: string): RegistryError {
  return new RegistryError(
    "DIGEST_INVALID",
    `"${value}" is not a valid digest: sha256: and 64 lowercase hex characters, or sha512: and 128`,
    { detail: { digest: value, supported: DIGEST_ALGORITHMS } },
  );
}
