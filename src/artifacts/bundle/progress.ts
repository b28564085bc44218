import type { Events } from "../../events.js";

/** Reports `bundle.progress` every 64 MiB and at the end, so a large bundle does not flood the views. */
export function bundleProgress(
  events: Events,
  verb: "wrote" | "verified" | "loaded",
  total: number,
): (bytes: number) => void {
  let lastReport = 0;
  return (bytes) => {
    if (bytes - lastReport < 64 << 20 && bytes !== total) return;
    lastReport = bytes;
    events.emit({
      level: "debug",
      kind: "bundle.progress",
      message: `${verb} ${bytes}/${total}`,
      detail: { bytes, total },
    });
  };
}
