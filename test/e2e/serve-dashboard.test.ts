import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { test } from "node:test";
import type { Page } from "playwright-core";
import { tempDir } from "../helpers/cli.js";
import { PXE_SITE_KERNEL as KERNEL, pxeSite, PXE_SITE_MAC as SERVER_MAC, startServe } from "../helpers/pxe-site.js";
import { notOnThisMachine } from "../helpers/skip.js";
import { runDiscover } from "../peers/airstrap-dhcp.js";
import { launchChromium, NO_CHROMIUM } from "../peers/chromium.js";
import { createPxeNetwork } from "../peers/pxe-network.js";
import { stopChild } from "../peers/unbound.js";

const ARTIFACTS = "test-artifacts/dashboard";
const BOOT = "10.231.0.1";

declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
};

/** The srv-1 row's Boot cell once it reads `words` (bounded wait). */
async function bootCell(page: Page, words: string): Promise<string> {
  await page.waitForFunction(
    (want) => document.querySelector('#hosts tr[data-host="srv-1"] td:nth-of-type(4)')?.textContent?.includes(want),
    words,
    { timeout: 60_000, polling: 100 },
  );
  return page.$eval('#hosts tr[data-host="srv-1"] td:nth-of-type(4)', (td) => td.textContent ?? "");
}

/**
 * `airstrap serve --dashboard`: a machine of a private PXE network (a namespace the test makes)
 * walks through the boot services — full DHCP, iPXE over TFTP, the iPXE script, its kernel,
 * Ignition, the first-boot report — and a real Chromium sees each step on its row, then the
 * network boot as a bar of the timeline. (The real firmware's chain is test/e2e/pxe-serve.test.ts.)
 */
test("serve --dashboard shows a machine's boot steps as the boot services answer it", async (t) => {
  if (process.getuid?.() !== 0) return t.skip(notOnThisMachine("network namespaces need root"));
  const network = await createPxeNetwork("sdash", {
    boot: { address: `${BOOT}/24` },
    machine: { mac: SERVER_MAC, defaultRoute: true },
  });
  t.after(() => network.remove());
  const site = await pxeSite(t, "full", "10.231.0");
  const browser = await launchChromium({ netns: network.ns("boot"), wrapperDir: await tempDir(t) });
  if (browser === undefined) return t.skip(NO_CHROMIUM);
  t.after(() => browser.close());
  const serve = await startServe(network, site, { args: ["--dashboard", "127.0.0.1:0"] });
  t.after(() => stopChild(serve.child));
  const url = /status page: (http:\/\/\S+)/.exec(serve.stderr())?.[1];
  assert.ok(url, `serve printed the status page's URL:\n${serve.stderr()}`);
  mkdirSync(ARTIFACTS, { recursive: true });
  const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  await page.goto(url);
  await page.waitForFunction(
    () => document.querySelector("#run")?.textContent?.includes("boot services ready"),
    undefined,
    {
      timeout: 30_000,
    },
  );

  const offer = await runDiscover(network, "machine", {
    macs: [SERVER_MAC],
    vendor: "PXEClient:Arch:00000:UNDI:002001",
    expect: 1,
    waitMs: 3000,
  });
  const bootFile = offer.replies[0]?.file;
  assert.ok(bootFile, JSON.stringify(offer));
  assert.match(await bootCell(page, "DHCP"), new RegExp(`^DHCP 10\\.231\\.0\\.11, boot file ${bootFile}$`));

  // The reserved address, as the firmware would now take it; then the boot program over TFTP.
  assert.equal((await network.exec("machine", ["ip", "addr", "add", "10.231.0.11/24", "dev", "eth0"])).code, 0);
  const fetch = async (args: string[]) => {
    const result = await network.exec("machine", ["curl", "-sS", "--fail", "-o", "/dev/null", ...args]);
    assert.equal(result.code, 0, `curl ${args.join(" ")}: ${result.stderr}`);
  };
  await fetch([`tftp://${BOOT}/${bootFile}`]);
  assert.match(await bootCell(page, "over TFTP"), new RegExp(`^DHCP ${bootFile} over TFTP$`));
  const mac = SERVER_MAC.replaceAll(":", "-");
  await fetch([`http://${BOOT}:8080/ipxe?mac=${mac}`]);
  await fetch([`http://${BOOT}:8080/assets/${KERNEL}`]);
  assert.match(await bootCell(page, "vmlinuz"), /^iPXE vmlinuz \(0\.3 MB\)$/);
  await page.screenshot({ path: `${ARTIFACTS}/serve-ipxe.png`, fullPage: true });
  await fetch([`http://${BOOT}:8080/ignition?mac=${mac}`]);
  assert.match(await bootCell(page, "Ignition"), /^Ignition Ignition config$/);
  await fetch([
    "-X",
    "POST",
    "--data",
    '{"status":"first-boot-done","ignition":"success"}',
    `http://${BOOT}:8080/report?mac=${mac}`,
  ]);
  assert.match(await bootCell(page, "first boot"), /^first boot reported; Ignition ran$/);
  const bar = await page.$eval("#timeline .bar", (b) => b.getAttribute("aria-label") ?? "");
  assert.match(bar, /^network boot: \d+:\d\d to \d+:\d\d, done$/);
  await page.screenshot({ path: `${ARTIFACTS}/serve-first-boot.png`, fullPage: true });
  await page.close();
});
