import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdir } from "node:fs/promises";
import net from "node:net";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { createEvents } from "../../../src/events.js";
import { startDashboard } from "../../../src/services/dashboard/service.js";
import { launchChromium, NO_CHROMIUM } from "../../peers/chromium.js";
import {
  at,
  HOSTS,
  handOverOf,
  installOf,
  nodeWithStatus,
  readyAt,
  STAGES,
  stageEvent,
  testConfig,
} from "./fixture.js";

/** The page's document, as the functions below see it when they run in the browser. */
declare const document: {
  activeElement: { id: string; textContent: string | null } | null;
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(
    selector: string,
  ): ArrayLike<{ textContent: string | null }> & Iterable<{ textContent: string | null }>;
};

/** Screenshots of what the browser saw, kept for a person to look at. */
const ARTIFACTS = "test-artifacts/dashboard";

let browser: Browser | undefined;
before(async () => {
  browser = await launchChromium();
  await mkdir(ARTIFACTS, { recursive: true });
});
after(() => browser?.close());

/** The Ready column of every row, as the page shows it. */
const readyColumn = (page: Page) =>
  page.$$eval("#hosts tbody tr", (rows) => rows.map((row) => row.children[6]?.textContent ?? ""));

/**
 * Waits (bounded) until `check` holds in the page. A function, not a string (the page's CSP
 * forbids eval); it is sent as source text, so it refers to nothing outside itself.
 */
function waitFor(page: Page, check: (arg: number) => boolean, arg = 0) {
  return page.waitForFunction(check, arg, { timeout: 30_000 });
}

test("the page lists every host and shows each one reach Ready as the events come", async (t) => {
  if (browser === undefined) return t.skip(NO_CHROMIUM);
  const events = createEvents();
  const dashboard = await startDashboard(testConfig(), events);
  const page = await browser.newPage();
  try {
    await page.goto(dashboard.url);
    await waitFor(page, () => document.querySelector("#connection")?.textContent === "live");
    assert.deepEqual(await readyColumn(page), ["· not Ready", "· not Ready", "· not Ready"]);
    for (const event of installOf(
      HOSTS.map((h) => h.name),
      ["connect", "install"],
    ))
      events.emit(event);
    await waitFor(page, () =>
      [...document.querySelectorAll("#hosts tbody tr")].every((row) => row.textContent?.includes("✓ Ready")),
    );
    assert.deepEqual(await readyColumn(page), ["✓ Ready", "✓ Ready", "✓ Ready"]);
    assert.deepEqual(await page.$$eval("#hosts tbody th", (cells) => cells.map((c) => c.textContent)), [
      "s1",
      "s2",
      "a1",
    ]);
    assert.equal(await page.locator("#timeline .bar").count(), 6);
    await page.screenshot({ path: `${ARTIFACTS}/ready.png`, fullPage: true });
  } finally {
    await page.close();
    await dashboard.close();
  }
});

test("on the site-network listener: 401 without the token; the printed link sets a cookie that keeps the browser in", async (t) => {
  if (browser === undefined) return t.skip(NO_CHROMIUM);
  const token = "a-token-for-the-test-only-1234";
  const dashboard = await startDashboard(
    testConfig({ listen: { address: "127.0.0.2", port: 0 }, token }),
    createEvents(),
  );
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    const base = `http://${dashboard.addresses[0]}/`;
    assert.equal((await page.goto(base))?.status(), 401);
    assert.equal((await page.goto(`${base}api/state`))?.status(), 401);
    const entered = await page.goto(dashboard.url);
    assert.equal(entered?.status(), 200);
    assert.equal(page.url(), base, "the token leaves the address bar");
    await waitFor(page, () => document.querySelectorAll("#hosts tbody tr").length === 3);
    assert.equal((await page.goto(base))?.status(), 200, "the cookie is enough afterwards");
    const cookie = (await context.cookies()).find((c) => c.name === "airstrap_dashboard");
    assert.equal(cookie?.httpOnly, true);
    assert.equal(cookie?.sameSite, "Strict");
  } finally {
    await context.close();
    await dashboard.close();
  }
});

test("after a server restart the page resumes the stream without duplicating rows", async (t) => {
  if (browser === undefined) return t.skip(NO_CHROMIUM);
  const first = installOf(["s1", "s2"], ["connect"]);
  const events = createEvents();
  let dashboard = await startDashboard(testConfig(), events);
  const listen = { address: "127.0.0.1", port: Number(dashboard.addresses[0]?.split(":")[1]) };
  const page = await browser.newPage();
  try {
    await page.goto(dashboard.url);
    for (const event of first) events.emit(event);
    await waitFor(page, (n) => document.querySelectorAll("#events li").length === n, first.length);
    await dashboard.close();
    await waitFor(
      page,
      () => document.querySelector("#connection")?.textContent?.startsWith("connection lost") === true,
    );
    // A new server on the same port, as `airstrap dashboard` after a restart: the run so far from
    // the state dir's log, then what happens next.
    dashboard = await startDashboard(testConfig({ listen }), events, first);
    const later = at({ kind: "install.host.start", host: "a1", phase: "install", message: "started" });
    await waitFor(page, () => document.querySelector("#connection")?.textContent === "live");
    events.emit(later);
    await waitFor(page, (n) => document.querySelectorAll("#events li").length >= n, first.length + 1);
    const rows = await page.$$eval("#events li", (items) => items.map((li) => li.textContent ?? ""));
    assert.equal(rows.length, first.length + 1);
    assert.equal(new Set(rows).size, rows.length, "no row twice");
    assert.deepEqual(await page.$$eval("#hosts tbody tr", (r) => r.length), 3);
  } finally {
    await page.close();
    await dashboard.close();
  }
});

test("a node's load balancer backend turns down on the page when its server goes away", async (t) => {
  if (browser === undefined) return t.skip(NO_CHROMIUM);
  const server = net.createServer((socket) => socket.end()).listen(0, "127.0.0.1");
  await once(server, "listening");
  const serverPort = (server.address() as net.AddressInfo).port;
  const events = createEvents();
  const node = await nodeWithStatus([{ name: "s1", address: "127.0.0.1", port: serverPort }], events);
  const dashboard = await startDashboard(testConfig({ nodes: [{ host: "a1", status: node.statusUrl }] }), events);
  const page = await browser.newPage();
  const backendLine = () =>
    page.$$eval("#services [data-node='a1'] li", (items) => items.map((li) => li.textContent ?? ""));
  try {
    await page.goto(dashboard.url);
    await waitFor(page, () =>
      [...document.querySelectorAll("#services [data-node='a1'] li")].some((li) =>
        li.textContent?.startsWith("✓ LB api → s1: up"),
      ),
    );
    const up = await backendLine();
    assert.equal(up[0], "✓ DNS answering");
    assert.match(up[1] ?? "", /^✓ LB api → s1: up, \d+\.\d connections\/s$/);
    server.close();
    await waitFor(page, () =>
      [...document.querySelectorAll("#services [data-node='a1'] li")].some((li) =>
        li.textContent?.startsWith("✗ LB api → s1: down"),
      ),
    );
    assert.match((await backendLine())[1] ?? "", /^✗ LB api → s1: down, \d+\.\d connections\/s$/);
    await page.screenshot({ path: `${ARTIFACTS}/backend-down.png`, fullPage: true });
  } finally {
    await page.close();
    await dashboard.close();
    await node.close();
    server.close();
  }
});

/** The GitOps stages table as the page shows it: each row's cells as text. */
const stageRows = (page: Page) =>
  page.$$eval("#stages tbody tr", (rows) => rows.map((row) => [...row.children].map((cell) => cell.textContent ?? "")));

test("the GitOps stages show in the manifest's order with dependsOn, revision and Ready in words; a re-run starts them over", async (t) => {
  if (browser === undefined) return t.skip(NO_CHROMIUM);
  const events = createEvents();
  const dashboard = await startDashboard(testConfig({ stages: STAGES }), events);
  const page = await browser.newPage();
  const commit = "5f0c2a9e1b7d43c8a6e2f1d0b9c8a7e6f5d4c3b2";
  const fixed = "9a8b7c6d5e4f30211203f4e5d6c7b8a9f0e1d2c3";
  try {
    await page.goto(dashboard.url);
    await waitFor(page, () => document.querySelectorAll("#stages tbody tr").length === 3);
    assert.equal(await page.textContent("#gitops-note"), "Not handed over to Flux yet.");
    assert.equal(await page.textContent("#run"), "Run running", "no host heard of: none counted as not Ready");
    assert.deepEqual(await stageRows(page), [
      ["bootstrap", "—", "—", "· not checked yet"],
      ["cluster-base-apps", "bootstrap", "—", "· not checked yet"],
      ["cluster-apps", "cluster-base-apps", "—", "· not checked yet"],
    ]);
    for (const event of [
      ...installOf(
        HOSTS.map((h) => h.name),
        ["install"],
      ),
      ...handOverOf(commit),
      readyAt("bootstrap", commit),
      stageEvent("cluster-base-apps", "failed", {
        ready: "False",
        reason: "HealthCheckFailed",
        message: "timeout waiting for: [Deployment/vault/vault status: 'InProgress']",
        revision: "",
      }),
      at({
        kind: "run.end",
        level: "error",
        message: "stage cluster-base-apps failed",
        detail: { ok: false, next: [] },
      }),
    ])
      events.emit(event);
    await waitFor(
      page,
      () =>
        document.querySelector("#stages tbody tr:nth-child(2) td:last-child")?.textContent?.startsWith("✗") === true,
    );
    assert.deepEqual(await stageRows(page), [
      ["bootstrap", "—", "main@sha1:5f0c2a9e1b7d…", `✓ Ready: Applied revision: main@sha1:${commit}`],
      [
        "cluster-base-apps",
        "bootstrap",
        "—",
        "✗ failed: HealthCheckFailed: timeout waiting for: [Deployment/vault/vault status: 'InProgress']",
      ],
      ["cluster-apps", "cluster-base-apps", "—", "· not checked yet"],
    ]);
    assert.deepEqual(await page.$$eval("#gitops-steps li", (items) => items.map((li) => li.textContent)), [
      "✓ pushed 5f0c2a9e1b7d to main",
      "✓ 31 objects: 31 created or changed, 0 unchanged",
      "✓ git server webhook: http://10.77.0.11:30090/hook/0123abcd",
    ]);
    assert.equal(await page.isHidden("#gitops-note"), true);
    assert.equal(
      await page.getAttribute("#stages tbody tr:first-child td.mono", "title"),
      `main@sha1:${commit}`,
      "the whole revision is the short one's title",
    );
    assert.equal(await page.textContent("#run"), "Run ✗ failed; 3 of 3 hosts Ready — stage cluster-base-apps failed");
    await page.screenshot({ path: `${ARTIFACTS}/gitops-stage-failed.png`, fullPage: true });

    // The operator fixed the stage and runs gitops bootstrap again: its push starts the rows over.
    const [announced, ...pushed] = handOverOf(fixed);
    events.emit(announced as (typeof pushed)[number]);
    await waitFor(
      page,
      () => document.querySelector("#gitops-steps li")?.textContent?.startsWith("· pushing") === true,
    );
    assert.deepEqual(
      (await stageRows(page)).map((row) => row[3]),
      ["· not checked yet", "· not checked yet", "· not checked yet"],
    );
    for (const event of [...pushed, ...STAGES.map((s) => readyAt(s.name, fixed))]) events.emit(event);
    await waitFor(page, () =>
      [...document.querySelectorAll("#stages tbody tr")].every((row) => row.textContent?.includes("✓ Ready")),
    );
    assert.deepEqual(
      (await stageRows(page)).map((row) => [row[0], row[2]]),
      STAGES.map((s) => [s.name, "main@sha1:9a8b7c6d5e4f…"]),
    );
    await page.screenshot({ path: `${ARTIFACTS}/gitops-stages-ready.png`, fullPage: true });
  } finally {
    await page.close();
    await dashboard.close();
  }
});

test("the keyboard reaches everything: the skip link first, then the hosts, then the event list", async (t) => {
  if (browser === undefined) return t.skip(NO_CHROMIUM);
  const events = createEvents();
  const dashboard = await startDashboard(testConfig(), events);
  const page = await browser.newPage();
  const focused = () => page.evaluate(() => document.activeElement?.id || document.activeElement?.textContent);
  try {
    await page.goto(dashboard.url);
    await waitFor(page, () => document.querySelector("#connection")?.textContent === "live");
    await page.keyboard.press("Tab");
    assert.equal(await focused(), "Skip to the hosts");
    await page.keyboard.press("Enter");
    assert.equal(await focused(), "hosts-title");
    await page.keyboard.press("Tab");
    assert.equal(await focused(), "events", "the scrolling event list takes focus, so arrows scroll it");
  } finally {
    await page.close();
    await dashboard.close();
  }
});
