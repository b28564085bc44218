import assert from "node:assert/strict";
import { appendFileSync, mkdirSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import type { Browser } from "playwright-core";
import { LAB_MIRROR_PORT } from "../../src/lab/mirror-helper.js";
import { runAirstrap } from "../helpers/cli.js";
import { streamAirstrap } from "../helpers/cli-stream.js";
import { createTestLab, labSkipReason, type TestLab } from "../lab/lab-fixture.js";
import { buildSingleExecutable } from "../peers/airstrap-sea.js";
import { launchChromium, NO_CHROMIUM } from "../peers/chromium.js";

const skipReason = await labSkipReason();
const ARTIFACTS = "test-artifacts/dashboard";

declare const document: {
  querySelectorAll(
    selector: string,
  ): ArrayLike<{ textContent: string | null }> & Iterable<{ textContent: string | null }>;
};

/**
 * `airstrap up --dashboard` on a lab site (a server and two agents with systemd and sshd): a real
 * Chromium watching the printed URL sees every host reach Ready during the run.
 */
describe("the status page during airstrap up on a lab site", { skip: skipReason ?? false }, async () => {
  let site: TestLab;
  let binary: { path: string; remove(): void };
  let browser: Browser | undefined;

  before(async () => {
    site = await createTestLab({
      offset: 17,
      hosts: [
        { name: "srv-1", role: "server", octet: 11 },
        { name: "agt-1", role: "agent", octet: 21 },
        { name: "agt-2", role: "agent", octet: 22 },
      ],
    });
    appendFileSync(site.file, `  artifacts: { source: "http://${site.bootstrapAddress}:${LAB_MIRROR_PORT}/rke2" }\n`);
    // The lab build: the hosts' simulated rke2 runs `airstrap lab-distro`, which the shipped build lacks.
    binary = buildSingleExecutable("src/cli/lab-main.ts");
    await site.up();
    const pull = await runAirstrap(["artifacts", "pull", "-f", site.file], { cwd: site.dir });
    assert.equal(pull.code, 0, pull.stderr);
    browser = await launchChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await site?.remove();
    binary?.remove();
  });

  test("every host reaches Ready on the page while up runs", async (t) => {
    if (browser === undefined) return t.skip(NO_CHROMIUM);
    const run = streamAirstrap(
      [
        "up",
        "-f",
        site.file,
        "--output",
        "json",
        "--node-binary",
        binary.path,
        "--ready-timeout",
        "180",
        "--timeout",
        "180",
        "--dashboard",
        "127.0.0.1:0",
      ],
      { cwd: site.dir, timeoutMs: 900_000, onEvent: () => {} },
    );
    const url = await new Promise<string>((resolve, reject) => {
      let text = "";
      run.child.stderr?.on("data", (chunk: string) => {
        text += chunk;
        const match = /status page: (http:\/\/\S+)/.exec(text);
        if (match?.[1] !== undefined) resolve(match[1]);
      });
      run.child.on("close", () => reject(new Error(`up printed no status page URL:\n${text}`)));
    });
    const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    try {
      await page.goto(url);
      const allReady = page.waitForFunction(
        (count) => {
          const rows = [...document.querySelectorAll("#hosts tbody tr")];
          return rows.length === count && rows.every((row) => row.textContent?.includes("✓ Ready"));
        },
        site.hosts.length,
        { timeout: 600_000, polling: 500 },
      );
      // A failed install ends the run (and the page's stream): fail then, with what up said.
      const failed = run.done.then((result) => {
        if (result.code !== 0) throw new Error(`up failed (${result.code}): ${result.stderr.slice(-2000)}`);
      });
      await Promise.race([allReady, failed.then(() => allReady)]);
      await page.screenshot({ path: `${ARTIFACTS}/lab-up-ready.png`, fullPage: true });
      const result = await run.done;
      assert.equal(result.code, 0, result.stderr);
      const rows = await page.$$eval("#hosts tbody tr", (r) => r.map((row) => row.textContent ?? ""));
      assert.equal(rows.length, site.hosts.length);
      const bars = await page.$$eval("#timeline .bar", (b) => b.length);
      assert.ok(bars >= site.hosts.length, `the timeline has a bar per host and phase (${bars})`);
    } finally {
      await page.close();
      run.child.kill("SIGTERM");
      await run.done;
    }
  });
});
