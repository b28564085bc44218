import { isSea } from "node:sea";

/**
 * Whether this process is the single-file executable (`make dist`) rather than Node running a
 * script. A static import on purpose: the executable is built with a code cache, and such an
 * executable has no dynamic `import()` at all, not even of Node's own modules.
 */
export function runningAsSingleExecutable(): boolean {
  return isSea();
}
