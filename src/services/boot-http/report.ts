/**
 * A node's first-boot report: `POST /report?mac=<mac>` with a small JSON object, sent once by the
 * booted node (a oneshot unit running curl). Only MACs some group selects are heard; the report
 * becomes a `boot.report` event and nothing else — it grants nothing (a MAC is no secret), so a
 * forged one can only mislead a view; fingerprints it names are to be compared with the host keys
 * airstrap generated, never trusted.
 *
 * ```json
 * { "status": "first-boot-done", "ignition": "success", "sshHostKeyFingerprints": ["SHA256:…"], "message": "…" }
 * ```
 */

export const REPORT_STATUSES = ["first-boot-done", "first-boot-failed"] as const;
export const IGNITION_RESULTS = ["success", "failure", "unknown"] as const;

export interface BootReport {
  status: (typeof REPORT_STATUSES)[number];
  ignition: (typeof IGNITION_RESULTS)[number];
  sshHostKeyFingerprints: string[];
  message?: string;
}

/** Reports are a few hundred bytes; anything much larger is not a report. */
export const REPORT_MAX_BYTES = 8 * 1024;

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;
const MAX_FINGERPRINTS = 8;
const MAX_MESSAGE = 500;

export type ParsedReport = { ok: true; report: BootReport } | { ok: false; problem: string };

/** Unknown fields are ignored (a newer node may say more); known ones must have their shape. */
export function parseReport(text: string): ParsedReport {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, problem: "the body is not JSON" };
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    return { ok: false, problem: "expected a JSON object" };
  const { status, ignition = "unknown", sshHostKeyFingerprints = [], message } = json as Record<string, unknown>;
  if (!REPORT_STATUSES.includes(status as BootReport["status"])) {
    return { ok: false, problem: `status must be one of ${REPORT_STATUSES.join(", ")}` };
  }
  if (!IGNITION_RESULTS.includes(ignition as BootReport["ignition"])) {
    return { ok: false, problem: `ignition must be one of ${IGNITION_RESULTS.join(", ")}` };
  }
  if (
    !Array.isArray(sshHostKeyFingerprints) ||
    sshHostKeyFingerprints.length > MAX_FINGERPRINTS ||
    !sshHostKeyFingerprints.every((entry) => typeof entry === "string" && FINGERPRINT.test(entry))
  ) {
    return {
      ok: false,
      problem: `sshHostKeyFingerprints must be a list of at most ${MAX_FINGERPRINTS} "SHA256:<base64>" strings`,
    };
  }
  if (message !== undefined && (typeof message !== "string" || message.length > MAX_MESSAGE)) {
    return { ok: false, problem: `message must be a string of at most ${MAX_MESSAGE} characters` };
  }
  return {
    ok: true,
    report: {
      status: status as BootReport["status"],
      ignition: ignition as BootReport["ignition"],
      sshHostKeyFingerprints: sshHostKeyFingerprints as string[],
      ...(message === undefined ? {} : { message: message as string }),
    },
  };
}
