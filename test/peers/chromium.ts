import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

/**
 * Debian's Chromium, headless, driven by playwright-core (which never downloads a browser here: it
 * is given the system one). Returns undefined when the package is missing, so a test can skip.
 */
export const CHROMIUM = "/usr/bin/chromium";

export async function launchChromium(): Promise<Browser | undefined> {
  if (!existsSync(CHROMIUM)) return undefined;
  // The tests run as root, where Chromium refuses its sandbox; the pages it opens are our own.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
}

export const NO_CHROMIUM = "chromium is not installed (Debian package chromium)";
