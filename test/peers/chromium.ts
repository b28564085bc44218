import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";

/**
 * Debian's Chromium, headless, driven by playwright-core (which never downloads a browser here: it
 * is given the system one). Returns undefined when the package is missing, so a test can skip.
 */
export const CHROMIUM = "/usr/bin/chromium";

/**
 * `netns`: run it inside that network namespace (through a small wrapper, `ip netns exec`), to
 * watch a page served on an address only that namespace has. `wrapperDir` holds the wrapper.
 */
export async function launchChromium(inside?: { netns: string; wrapperDir: string }): Promise<Browser | undefined> {
  if (!existsSync(CHROMIUM)) return undefined;
  let executablePath = CHROMIUM;
  if (inside !== undefined) {
    executablePath = join(inside.wrapperDir, "chromium-in-netns");
    writeFileSync(executablePath, `#!/bin/sh\nexec ip netns exec ${inside.netns} ${CHROMIUM} "$@"\n`, { mode: 0o755 });
  }
  // The tests run as root, where Chromium refuses its sandbox; the pages it opens are our own.
  return chromium.launch({ executablePath, headless: true, args: ["--no-sandbox"] });
}

export const NO_CHROMIUM = "chromium is not installed (Debian package chromium)";
