import type { Events } from "../../events.js";
import type { RegistryConfig } from "./config.js";
import { collectGarbage, DEFAULT_GC_GRACE_MS, DEFAULT_UPLOAD_MAX_AGE_MS } from "./gc.js";
import type { RegistryContext } from "./http.js";

/** Garbage collection on a timer while the registry serves (only when gcIntervalMs is set). */
export function startPeriodicGc(
  ctx: RegistryContext,
  config: RegistryConfig,
  events: Events,
): { stop(): Promise<void> } {
  const interval = config.gcIntervalMs;
  if (!interval) return { stop: async () => undefined };
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const timer = setInterval(() => {
    running = running.then(() =>
      stopped
        ? undefined
        : collectGarbage(ctx.repos, ctx.uploads, ctx.gate, {
            graceMs: config.gcGraceMs ?? DEFAULT_GC_GRACE_MS,
            uploadMaxAgeMs: DEFAULT_UPLOAD_MAX_AGE_MS,
            events,
          }).catch((error: Error) =>
            events.emit({
              level: "error",
              kind: "registry.gc.failed",
              service: "registry",
              message: `garbage collection failed: ${error.message}`,
            }),
          ),
    );
  }, interval);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
